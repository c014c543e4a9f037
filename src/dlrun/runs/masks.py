"""Segmentation predictions as pictures: for `dlrun predict`, a mask PNG per image (palette: each
pixel's class index, coloured with VOC's colour map) and an overlay PNG (the image with the
classes other than the first, background, tinted), both at the input image's own size; for the
trackers, a few test images with their true and predicted masks side by side."""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

OVERLAY_ALPHA = 0.5


def voc_palette(colours: int = 256) -> list[int]:
    """PASCAL VOC's colour map: class i's RGB from the bits of i (0: black)."""
    palette = []
    for index in range(colours):
        red = green = blue = 0
        value = index
        for shift in range(7, -1, -1):
            red |= ((value >> 0) & 1) << shift
            green |= ((value >> 1) & 1) << shift
            blue |= ((value >> 2) & 1) << shift
            value >>= 3
        palette += [red, green, blue]
    return palette


def write_masks(outputs: torch.Tensor, paths: list[Path], folder: Path) -> list[dict]:
    """For each image path and its logits (classes, h, w): the mask and overlay files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for logits, path in zip(outputs, paths):
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        mask, overlay = mask_pictures(logits, image)
        mask_path = folder / f"{path.stem}_mask.png"
        mask.save(mask_path)
        overlay_path = folder / f"{path.stem}_overlay.png"
        overlay.save(overlay_path)
        written.append({"mask": str(mask_path), "overlay": str(overlay_path)})
    return written


def mask_pictures(logits: torch.Tensor, image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """(the predicted mask at the image's size: a palette PNG whose pixels are class indices,
    the RGB image with the classes other than background tinted)."""
    palette = voc_palette()
    width, height = image.size
    resized = F.interpolate(logits[None].float(), size=(height, width), mode="bilinear", align_corners=False)
    classes = resized[0].argmax(0).to(torch.uint8).cpu().numpy()
    mask = Image.fromarray(classes, mode="P")
    mask.putpalette(palette)
    colours = np.asarray(palette, dtype=np.float32).reshape(-1, 3)
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    tinted = np.where((classes > 0)[..., None], (1 - OVERLAY_ALPHA) * pixels + OVERLAY_ALPHA * colours[classes], pixels)
    return mask, Image.fromarray(tinted.clip(0, 255).astype(np.uint8))


def prediction_overlays(model, loader, info, device, count: int = 4) -> list:
    """For the trackers: up to `count` samples of `loader` as one picture each (uint8 HWC):
    the image, its true mask over it, the predicted mask over it, side by side."""
    colours = torch.tensor(voc_palette(), dtype=torch.float32).view(-1, 3)
    how = info.preprocess or {}
    inputs, targets = next(iter(loader))
    inputs, targets = inputs[:count].to(device), targets[:count]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predicted = model(inputs).argmax(1).cpu()
    model.train(was_training)
    images = inputs.float().cpu()
    if how.get("mean") is not None:
        images = images * torch.tensor(how["std"]).view(-1, 1, 1) + torch.tensor(how["mean"]).view(-1, 1, 1)
    images = (images.clamp(0, 1) * 255).expand(-1, 3, -1, -1).permute(0, 2, 3, 1)  # (N, H, W, 3)
    pictures = []
    for image, truth, guess in zip(images, targets, predicted):
        panels = [image]
        for mask in (truth.clamp(min=0), guess):
            tinted = (1 - OVERLAY_ALPHA) * image + OVERLAY_ALPHA * colours[mask]
            panels.append(torch.where((mask > 0)[..., None], tinted, image))
        pictures.append(torch.cat(panels, dim=1).round().to(torch.uint8).numpy())
    return pictures
