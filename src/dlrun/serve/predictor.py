"""A saved run ready to answer requests: each raw input (an upload's bytes, a table row, a text)
through the run's own evaluation preprocessing (dlrun.runs.inference, as `dlrun predict`), and
a batch of them through the model under torch.inference_mode, read as the run's task reads its
outputs (the rows of `dlrun predict`, plus top-k classes, a mask PNG or boxes)."""

import base64
import io
from dataclasses import dataclass, field

import torch

from dlrun.errors import DlrunError, first_line


@dataclass
class Item:
    """One input, preprocessed: the sample the model takes, and what its answer needs."""

    name: str
    sample: torch.Tensor  # (C, H, W) / (features,) / token ids (length,)
    image: object = None  # segmentation: the decoded image (the mask is drawn at its size)
    scale: tuple = (1.0, 1.0)  # detection: back to the file's pixels
    options: dict = field(default_factory=dict)  # top_k, score_threshold


class Predictor:
    def __init__(self, run, device: torch.device):
        from dlrun import tasks
        from dlrun.metrics import thresholds
        from dlrun.runs.saved_run import rebuild_model

        self.run, self.info, self.device = run, run.info, device
        self.how = run.info.preprocess or {}
        self.kind = self.how.get("kind")
        self.task = tasks.get(run.info.task)
        self.model = rebuild_model(run).to(device)
        self.thresholds = thresholds.of_run(run.path, run.cfg.get("task"), run.info.class_names or [])
        if self.task.boxes:
            from dlrun.runs.boxes import eval_pipeline

            self.transform = eval_pipeline(run)
        elif self.kind in ("image", "array_image"):
            from dlrun.runs.inference import image_transform

            self.transform = image_transform(self.how, run)
        elif self.kind == "text":  # read once, not per request
            from dlrun.runs.inference import run_tokenizer

            self.tokenizer = run_tokenizer(self.how)
        elif self.kind == "audio":
            from dlrun.datasets.audio.clips import ClipFeatures

            self.features = ClipFeatures(self.how)

    @property
    def takes(self) -> str:
        """What an input is for this run: image, table, text or audio."""
        return {"array_image": "image"}.get(self.kind, self.kind or "image")

    # -- one input: bytes (an upload) or a JSON value ------------------------------------------

    def from_bytes(self, data: bytes, name: str, options: dict) -> Item:
        """An uploaded file: an image or audio file (or, for a text run, UTF-8 text)."""
        if not data:
            raise DlrunError(f"{name} is empty.")
        if self.takes == "image":
            return self.image_item(data, name, options)
        if self.takes == "audio":
            from dlrun.runs.inference import audio_features

            try:
                sample = audio_features(io.BytesIO(data), self.how, self.features)
            except DlrunError as err:
                raise DlrunError(f"{name} is not an audio file that can be read (WAV, FLAC, OGG, MP3).") from err
            return Item(name, sample, options=options)
        if self.takes == "text":
            try:
                return self.text_item(data.decode("utf-8"), name, options)
            except UnicodeDecodeError as err:
                raise DlrunError(f"{name} is not UTF-8 text (byte {err.start}).") from err
        raise DlrunError(f"{name}: this run takes table rows: send them as JSON objects of features.")

    def from_value(self, value, name: str, options: dict) -> Item:
        """A JSON value: base64 for an image or audio file, an object of features for a table
        row, a string for a text."""
        if self.takes == "table":
            if not isinstance(value, dict):
                raise DlrunError(f"{name}: a table row is a JSON object of features, e.g. {self.example_row()}.")
            return self.row_item(value, name, options)
        if not isinstance(value, str):
            wanted = "a string" if self.takes == "text" else f"the {self.takes} file as a base64 string"
            raise DlrunError(f"{name}: expected {wanted}, got {type(value).__name__}.")
        if self.takes == "text":
            return self.text_item(value, name, options)
        return self.from_bytes(decode_base64(value, name), name, options)

    def image_item(self, data: bytes, name: str, options: dict) -> Item:
        from dlrun.runs.inference import image_mode, open_image

        image = open_image(io.BytesIO(data), name, "RGB" if self.task.boxes else image_mode(self.run))
        if self.task.boxes:
            from dlrun.runs.boxes import detection_input

            sample, scale = detection_input(image, self.transform)
            return Item(name, sample, scale=scale, options=options)
        return Item(name, self.transform(image), image=image if self.task.spatial else None, options=options)

    def row_item(self, row: dict, name: str, options: dict) -> Item:
        import pandas as pd

        from dlrun.runs.inference import frame_tensor

        features = self.how.get("features")
        if features:
            missing = [f for f in features if f not in row]
            if missing:
                raise DlrunError(f"{name} lacks the feature(s) {', '.join(missing)}; the model takes {features}.")
            unknown = [key for key in row if key not in features]
            if unknown:
                raise DlrunError(f"{name} has feature(s) the model does not take: {', '.join(unknown)}.")
        wrong = [key for key, v in row.items() if isinstance(v, bool) or not isinstance(v, (int, float))]
        if wrong:
            raise DlrunError(f"{name}: the features must be numbers; not {', '.join(wrong)}.")
        return Item(name, frame_tensor(pd.DataFrame([row]), self.how, self.info.input_shape, name)[0], options=options)

    def text_item(self, text: str, name: str, options: dict) -> Item:
        from dlrun.runs.inference import text_ids

        if not text.strip():
            raise DlrunError(f"{name} is empty: give the text to classify.")
        return Item(name, text_ids([text.strip()], self.how, self.tokenizer)[0], options=options)

    def example_row(self) -> str:
        import json

        return json.dumps({f: 0.0 for f in (self.how.get("features") or [])[:3]})

    # -- a batch -------------------------------------------------------------------------------

    def __call__(self, items: list[Item]) -> list[dict]:
        """The answers to a batch of inputs, in their order."""
        with torch.inference_mode():
            outputs = self.model(self.collate(items))
        if self.task.boxes:
            return [self.boxes_answer(item, found) for item, found in zip(items, outputs)]
        outputs = outputs.float().cpu()
        from dlrun.runs.inference import readable

        rows = readable(outputs, self.info, self.thresholds)
        return [self.answer(item, row, out) for item, row, out in zip(items, rows, outputs)]

    def collate(self, items: list[Item]):
        samples = [item.sample for item in items]
        if self.task.boxes:  # a detector takes a list of images of their own sizes
            return [s.to(self.device) for s in samples]
        if self.takes == "text":
            from dlrun.datasets.text.samples import pad

            return pad(samples, self.how["pad_id"]).to(self.device)
        return torch.stack(samples).to(self.device)

    def answer(self, item: Item, row: dict, output: torch.Tensor) -> dict:
        answer = {"input": item.name, **row}
        if self.info.task == "classification":
            k = min(int(item.options.get("top_k", 5)), output.shape[0])
            top = output.softmax(0).topk(k)
            names = self.info.class_names
            answer["top"] = [
                {"class": names[i], "probability": p} for p, i in zip(top.values.tolist(), top.indices.tolist())
            ]
        elif self.task.spatial:  # segmentation: the mask at the image's size, a palette PNG of class indices
            from dlrun.runs.masks import mask_pictures

            mask, _ = mask_pictures(output, item.image)
            answer["mask_png"] = png_base64(mask)
        return answer

    def boxes_answer(self, item: Item, found: dict) -> dict:
        from dlrun.runs.boxes import in_file_pixels

        kept = in_file_pixels(found, item.scale, float(item.options.get("score_threshold", 0.5)))
        names = list(self.info.class_names or [])
        boxes = [
            {
                "class": names[label] if label < len(names) else str(label),
                "score": score,
                "box": [round(v, 2) for v in b],
            }
            for b, label, score in zip(kept["boxes"].tolist(), kept["labels"].tolist(), kept["scores"].tolist())
        ]
        return {"input": item.name, "boxes": boxes}


def decode_base64(value: str, name: str) -> bytes:
    """A base64 string (or a data: URL) as bytes."""
    import binascii

    text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise DlrunError(f"{name} is not valid base64 ({first_line(err)}).") from err


def png_base64(image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
