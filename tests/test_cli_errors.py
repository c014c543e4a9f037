"""Bad input ends with a short message naming the problem and the valid choices:
exit code not 0, no traceback, and no run directory that looks finished.

The table below is the bad-input suite: one row per mistake a person can make, through
the real `dlrun` command in its own process, in a folder of its own. Rows run concurrently
(one module-wide pool); each row is its own test. Add a row for every new way to be wrong.
"""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.processes import QUIET, begin, cli_env, dlrun, finish

# (id, arguments, fragments the message must contain). {imgs} {bad_imgs} {csv} {npy} {npz} {run} {edited_run}
# {file} {empty} stand for the workspace's fixtures (see `workspace`); the nets of NETS are in
# every row's working directory.
CASES = [
    # ---- choices of a group ---------------------------------------------------------------
    ("model-typo", "model=resnet19", ["Unknown model 'resnet19'", "Did you mean: resnet18", "resnet101"]),
    ("optimizer-typo", "optimizer=adamm", ["Unknown optimizer 'adamm'", "Did you mean: adam", "sgd"]),
    ("dataset-unknown", "dataset=nope", ["Unknown dataset 'nope'", "digits"]),
    ("loss-typo", "loss=crossentropy", ["Unknown loss 'crossentropy'", "cross_entropy"]),
    ("scheduler-typo", "scheduler=cosin", ["Unknown scheduler 'cosin'", "Did you mean: cosine"]),
    ("logger-unknown", "logger=mlflow2", ["Unknown logger 'mlflow2'", "mlflow, none, tensorboard, wandb"]),
    ("trainer-typo", "trainer=gpus", ["Unknown trainer 'gpus'", "Did you mean: gpu"]),
    ("experiment-typo", "experiment=digits_cn", ["Unknown experiment 'digits_cn'", "digits_cnn"]),
    ("hparams-search-unknown", "-m hparams_search=nope", ["Unknown hparams_search 'nope'", "digits_optuna"]),
    ("sweep-choice-typo", "-m optimizer=adam,adamm", ["Unknown optimizer 'adamm'. Did you mean: adam, adamw?"]),
    ("launcher-without-m", "hydra/launcher=slurm", ["launches the jobs of a sweep: add -m"]),
    ("command-typo", "predcit run x.png", ["Unknown command 'predcit'. Did you mean: predict?"]),
    (
        "unknown-key",
        "trainer.epochz=3",
        ["trainer.epochz: trainer=cpu has no key trainer.epochz", "Did you mean: epochs"],
    ),
    (
        "bad-override-syntax",
        "model.hidden=[0",
        ["model.hidden=[0: not a valid override", "no viable alternative at input '[0'", "a list as [a,b]"],
    ),
    (
        "key-the-data-lacks",
        "dataset.transforms.mixup_alpha=0.2",
        ["dataset.transforms.mixup_alpha: dataset=digits holds its data as tensors", "image_folder, kmnist, mnist"],
    ),
    (
        "group-the-data-lacks",
        "dataset/transforms=trivialaugment",
        ["dataset=digits holds its data as tensors", "e.g. dataset=cifar10 dataset/transforms=trivialaugment"],
    ),
    (
        "nested-option-unknown",
        "dataset=mnist dataset/transforms=nope",
        ["Unknown dataset/transforms 'nope'", "trivialaugment"],
    ),
    (
        "loss-argument-typo",
        "loss.label_smothing=0.1",
        ["Did you mean: loss.label_smoothing", "torch.nn.CrossEntropyLoss, add it: +loss.label_smothing=0.1"],
    ),
    (
        "plus-key-nothing-reads",
        "+model.dropuot=0.1",
        ["+model.dropuot=0.1: no part of the run reads model.dropuot", "Did you mean: model.dropout"],
    ),
    (
        "plus-group-nothing-reads",
        "+dataset/transforms=augment",
        ["+dataset/transforms=augment: nothing would read it", "dataset=digits holds its data as tensors"],
    ),
    ("plus-key-that-exists", "+model.dropout=0.1", ["model.dropout exists already", "model.dropout=0.1"]),
    ("delete-a-missing-key", "~model.nope", ["~model.nope: there is no such key to delete", "Did you mean: model."]),
    # ---- top-level knobs --------------------------------------------------------------------
    ("lr-text", "lr=abc", ["lr='abc' is not a positive number", "lr=1e-3"]),
    ("lr-negative", "lr=-0.1", ["lr=-0.1 is not a positive number"]),
    ("epochs-zero", "epochs=0", ["epochs=0 must be a whole number >= 1"]),
    ("batch-negative", "batch_size=-1", ["batch_size=-1 must be a whole number >= 1"]),
    ("seed-negative", "seed=-5", ["seed=-5 must be a whole number from 0 to 2**32-1"]),
    (
        "several-at-once",
        "lr=-1 epochs=0 trainer.precision=8",
        ["the config has these problems:", "lr=-1", "epochs=0", "trainer.precision=8"],
    ),
    # ---- trainer ------------------------------------------------------------------------------
    ("device-unknown", "trainer.device=tpu", ["trainer.device='tpu' is not valid", "cuda:N"]),
    ("precision-8", "trainer.precision=8", ["trainer.precision=8 is not valid: use 32, bf16 or 16"]),
    ("fp16-on-cpu", "trainer.precision=16 trainer.device=cpu", ["needs a CUDA device", "trainer.precision=bf16"]),
    ("accum-zero", "trainer.grad_accum_steps=0", ["trainer.grad_accum_steps=0 is not valid"]),
    ("clip-negative", "trainer.grad_clip=-1", ["trainer.grad_clip=-1 is not valid", "positive number"]),
    ("limit-zero", "trainer.limit_train_batches=0", ["trainer.limit_train_batches=0 is not valid", "(0, 1]"]),
    ("val-every-zero", "trainer.val_every_n_epochs=0", ["trainer.val_every_n_epochs=0 is not valid"]),
    ("top-k-zero", "trainer.save_top_k=0", ["trainer.save_top_k=0 is not valid"]),
    ("patience-zero", "trainer.early_stopping.patience=0", ["trainer.early_stopping.patience=0 is not valid"]),
    ("progress-unknown", "trainer.progress=fancy", ["trainer.progress='fancy' is not valid", "lines"]),
    (
        "print-config-unknown",
        "trainer.print_config=tree",
        ["trainer.print_config='tree' is not valid", "full", "short"],
    ),
    ("mode-unknown", "trainer.mode=up", ["trainer.mode='up' is not valid", "min or max"]),
    ("monitor-not-a-metric", "trainer.monitor=acc", ["trainer.monitor='acc' is not valid", "val/acc"]),
    (
        "monitor-of-another-task",
        "trainer.monitor=val/r2",
        ["trainer.monitor='val/r2' is not a metric of this classification run", "val/acc"],
    ),
    ("compile-not-bool", "trainer.compile=maybe", ["trainer.compile='maybe' is not valid: use true or false"]),
    ("devices-zero", "trainer.devices=0", ["trainer.devices"]),
    ("gpu-without-cuda", "trainer=gpu", ["no CUDA device is available", "trainer=cpu"]),
    ("run-dir-not-creatable", "hydra.run.dir=/proc/nope/run", ["the run directory cannot be created"]),
    ("run-dir-under-a-file", "hydra.run.dir={file}/run", ["is a file, not a folder"]),
    # ---- loader -------------------------------------------------------------------------------
    ("workers-negative", "loader.num_workers=-1", ["loader.num_workers=-1 is not valid"]),
    ("prefetch-without-workers", "loader.num_workers=0 loader.prefetch_factor=2", ["needs worker processes"]),
    ("pin-memory-not-bool", "loader.pin_memory=sometimes", ["loader.pin_memory='sometimes' is not valid"]),
    ("in-memory-unknown", "loader.in_memory=sometimes", ["loader.in_memory='sometimes' is not valid"]),
    ("in-memory-with-workers", "loader.in_memory=true loader.num_workers=2", ["it takes no DataLoader workers"]),
    ("in-memory-under-ddp", "loader.in_memory=true trainer.devices=2", ["is for one training process"]),
    (
        "in-memory-with-own-transforms",
        "loader.in_memory=true dataset=image_folder dataset.root={imgs} "
        "dataset.transforms.train_extra=[{{_target_:torchvision.transforms.v2.RandomRotation,degrees:10}}]",
        ["needs data held as tensors"],
    ),
    # ---- dataset ------------------------------------------------------------------------------
    ("val-fraction-2", "dataset.val_fraction=2", ["dataset.val_fraction=2 is not valid", "between 0 and 1"]),
    ("fractions-sum-to-1", "dataset.val_fraction=0.5 dataset.test_fraction=0.6", ["leave nothing to train on"]),
    (
        "csv-missing-file",
        "dataset=csv dataset.path=missing.csv dataset.target=y",
        ["dataset.path='missing.csv': no such file"],
    ),
    ("csv-required-keys", "dataset=csv", ["dataset.path is required", "dataset.target is required"]),
    (
        "csv-target-not-a-column",
        "dataset=csv dataset.path={csv} dataset.target=price",
        ["dataset.target='price' is not a column"],
    ),
    ("folder-required", "dataset=image_folder", ["dataset.root is required"]),
    ("folder-missing", "dataset=image_folder dataset.root=nowhere", ["dataset.root='nowhere': no such folder"]),
    ("folder-is-a-file", "dataset=image_folder dataset.root={file}", ["is a file, not a folder"]),
    ("folder-without-classes", "dataset=image_folder dataset.root={empty}", ["holds no images in class folders"]),
    (
        "damaged-image",
        "dataset=image_folder dataset.root={bad_imgs}",
        ["broken.png is not an image that can be read", "dataset.skip_bad_files=true"],
    ),
    (
        "skip-bad-files-not-bool",
        "dataset=image_folder dataset.root={imgs} dataset.skip_bad_files=yes",
        ["dataset.skip_bad_files='yes' is not valid"],
    ),
    (
        "resize-zero",
        "dataset=image_folder dataset.root={imgs} dataset.transforms.resize=[0,5]",
        ["dataset.transforms.resize=[0, 5] is not valid"],
    ),
    (
        "normalize-unknown",
        "dataset=image_folder dataset.root={imgs} dataset.transforms.normalize=bogus",
        ["dataset.transforms.normalize='bogus' is not valid", "imagenet"],
    ),
    (
        "extra-transform-without-target",
        "dataset=image_folder dataset.root={imgs} dataset.transforms.train_extra=[{{degrees:10}}]",
        ["dataset.transforms.train_extra", "_target_"],
    ),
    ("synthetic-too-small", "dataset=synthetic dataset.n_samples=5", ["dataset.n_samples=5 is not valid"]),
    ("synthetic-task-unknown", "dataset=synthetic dataset.task=ranking", ["dataset.task='ranking' is not valid"]),
    (
        "task-unknown",
        "task=ranking",
        ["Unknown task 'ranking'", "auto, classification, detection, multilabel, regression"],
    ),
    ("multilabel-on-digits", "task=multilabel", ["task=multilabel does not fit dataset=digits", "classification"]),
    (
        "multilabel-column-not-a-list",
        "task=multilabel dataset=table dataset.path={csv} dataset.target=label model=mlp",
        ["task=multilabel reads several labels per row", "dataset.label_sep='|'", "dataset.targets=[cat, dog, bird]"],
    ),
    (
        "label-sep-without-multilabel",
        "dataset=table dataset.path={csv} dataset.target=label dataset.label_sep='|' model=mlp",
        ["dataset.label_sep gives multi-label data: add task=multilabel"],
    ),
    (
        "multilabel-targets-and-a-target",
        "task=multilabel dataset=table dataset.path={csv} dataset.target=label dataset.targets=[a,b] model=mlp",
        ["give one of the two"],
    ),
    (
        "multilabel-targets-not-0-1",
        "task=multilabel dataset=table dataset.path={csv} dataset.targets=[a,label] model=mlp",
        ["target column 'a' holds 0, 1, 2", "dataset.targets are 0/1 columns"],
    ),
    (
        "multilabel-with-cross-entropy",
        "task=multilabel dataset=table dataset.path={csv} dataset.targets=[b,label] loss=cross_entropy model=mlp",
        ["needs class labels, but this dataset is a multilabel task", "loss=bce_with_logits"],
    ),
    (
        "multilabel-folder-without-labels-file",
        "task=multilabel dataset=image_folder dataset.root={imgs}",
        ["task=multilabel on an image folder reads the labels from a file", "dataset.labels_file=labels.csv"],
    ),
    (
        "multilabel-labels-file-columns",
        "task=multilabel dataset=image_folder dataset.root={imgs} dataset.labels_file={csv}",
        ["has columns a, b, label", "image,labels"],
    ),
    (
        "multilabel-arrays-one-target",
        "task=multilabel dataset=arrays dataset.path={npz} model=mlp",
        ["task=multilabel needs (N, labels) 0/1 targets", "shape (10,)"],
    ),
    (
        "segmentation-on-a-table",
        "task=segmentation dataset=table dataset.path={csv} dataset.target=label model=mlp",
        ["task=segmentation does not fit dataset=table", "dataset=segmentation_folder"],
    ),
    (
        "segmentation-mask-size",
        "dataset=segmentation_folder dataset.root={seg_bad_size} model=unet",
        ["0001.png is 6x8 but its image 0001.png is 8x8", "a mask has its image's size"],
    ),
    (
        "segmentation-mask-value",
        "dataset=segmentation_folder dataset.root={seg_bad_value} model=unet",
        ["holds the value 7, outside the 3 classes (0 .. 2)", "classes.txt"],
    ),
    (
        "segmentation-image-without-mask",
        "dataset=segmentation_folder dataset.root={seg_no_mask} model=unet",
        ["1 image in", "has no mask", "0005.png"],
    ),
    (
        "segmentation-colour-mask",
        "dataset=segmentation_folder dataset.root={seg_rgb_mask} model=unet",
        ["is a RGB image: a mask holds a class index per pixel"],
    ),
    (
        "segmentation-policy",
        "dataset=segmentation_folder dataset.root={seg_bad_size} dataset/transforms=randaugment",
        ["dataset.transforms.auto_augment is not for segmentation"],
    ),
    (
        "segmentation-ignore-index",
        "dataset=segmentation_folder dataset.root={seg_ok} dataset.ignore_index=300",
        ["dataset.ignore_index=300 is not valid", "from 0 to 255"],
    ),
    (
        "multilabel-one-target-column",
        "task=multilabel dataset=table dataset.path={csv} dataset.targets=[a] model=mlp",
        ["dataset.targets=['a'] is not valid", "two or more different columns"],
    ),
    (
        "smp-encoder-typo",
        "dataset=segmentation_folder dataset.root={seg_ok} model=smp model.encoder=resnet19",
        ["model.encoder='resnet19' is not an smp encoder", "Did you mean: resnet18"],
    ),
    (
        "detection-missing-image",
        "task=detection dataset=coco dataset.root={det_missing_image} model=fasterrcnn_mobilenet_v3_large_320_fpn",
        ["1 image named by the annotations is missing", "0005.png"],
    ),
    (
        "detection-unknown-category",
        "task=detection dataset=coco dataset.root={det_unknown_category} model=fasterrcnn_mobilenet_v3_large_320_fpn",
        ["annotation 3 has category_id 7, which is not among the categories: 1 (circle)"],
    ),
    (
        "yolo-four-numbers",
        "task=detection dataset=yolo dataset.root={det_four_numbers} model=fasterrcnn_mobilenet_v3_large_320_fpn",
        ["0002.txt, line 1 has 4 numbers", "class cx cy w h"],
    ),
    (
        "detection-with-a-classifier",
        "task=detection dataset=coco dataset.root={det_ok} model=resnet18",
        ["model=resnet18 gives an output vector per sample", "task=detection takes a detector"],
    ),
    (
        "detection-without-task",
        "dataset=yolo dataset.root={det_ok} model=fasterrcnn_mobilenet_v3_large_320_fpn",
        ["dataset=yolo is detection data: add task=detection"],
    ),
    (
        "detection-random-crop",
        "task=detection dataset=coco dataset.root={det_ok} model=fasterrcnn_mobilenet_v3_large_320_fpn dataset.transforms.random_crop=32",
        ["dataset.transforms.random_crop is not for detection", "iou_crop=true"],
    ),
    (
        "detection-annotations-missing",
        "task=detection dataset=coco dataset.root={det_ok} dataset.annotations=train.json model=fasterrcnn_mobilenet_v3_large_320_fpn",
        ["dataset.annotations='train.json': no such file"],
    ),
    (
        "segmentation-model-on-classes",
        "model=lraspp_mobilenet_v3_large",
        ["model=lraspp_mobilenet_v3_large segments images (task=segmentation"],
    ),
    (
        "thresholds-not-a-probability",
        "task=multilabel task.thresholds=1.5",
        ["task.thresholds=1.5 is not valid", "tune"],
    ),
    ("thresholds-on-another-task", "task.thresholds=0.5", ["task=auto has no decision thresholds", "task=multilabel"]),
    ("task-not-the-datasets", "task=regression", ["task=regression does not fit dataset=digits", "task=auto"]),
    ("custom-dataset-not-a-path", "dataset=custom dataset.class_path=notapath", ["dataset.class_path='notapath'"]),
    ("custom-dataset-missing-module", "dataset=custom dataset.class_path=nothere.Data", ["module 'nothere' not found"]),
    (
        "mnist-offline",
        "dataset=mnist dataset.root={empty} dataset.download=false",
        ["files not found", "dataset.download=true"],
    ),
    # ---- model --------------------------------------------------------------------------------
    ("dropout-1.5", "model.dropout=1.5", ["model.dropout=1.5 is not valid", "0 <= p < 1"]),
    ("kernel-even", "model.kernel_size=2", ["model.kernel_size=2 is not valid", "odd"]),
    ("pooling-unknown", "model.pooling=min", ["model.pooling='min' is not valid", "max or avg"]),
    ("hidden-zero", "model=mlp model.hidden=[0]", ["model.hidden=[0] is not valid"]),
    ("activation-unknown", "model=mlp model.activation=swish", ["model.activation='swish' is not valid", "gelu"]),
    ("cnn-on-a-table", "model=cnn dataset=iris", ["model=cnn needs image input", "model=mlp"]),
    ("weights-file-missing", "model=resnet18 model.weights=missing.pth", ["model.weights='missing.pth': no such file"]),
    (
        "weights-name-unknown",
        "model=resnet18 model.weights=IMAGENET_V9 model.download=false",
        ["not a weight of resnet18"],
    ),
    ("freeze-unknown", "model.freeze=everything", ["model.freeze='everything' is not valid", "backbone"]),
    ("unfreeze-without-freeze", "model.unfreeze_at_epoch=2", ["model.unfreeze_at_epoch needs model.freeze=backbone"]),
    ("custom-model-required", "model=custom", ["model.class_path is required"]),
    ("custom-model-typo", "model=custom model.class_path=my_nets.Nett", ["has no 'Nett'. Did you mean: Net"]),
    (
        "custom-model-bad-kwargs",
        "model=custom model.class_path=my_nets.Net model.kwargs={{depth:3}}",
        ["unexpected keyword argument 'depth'"],
    ),
    (
        "custom-model-shape-mismatch",
        "model=custom model.class_path=my_nets.ForMnist",
        [
            "model=custom (my_nets.ForMnist) does not fit the data",
            "(2, 1, 8, 8)",
            "mat1 and mat2",
            "change the model's layers",
        ],
    ),
    (
        "custom-model-shape-mismatch-on-a-folder",
        "dataset=image_folder dataset.root={imgs} model=custom model.class_path=my_nets.ForMnist",
        ["(2, 3, 8, 8)", "dataset.transforms.resize=[H, W]"],
    ),
    ("timm-arch-required", "model=timm", ["model.arch is required"]),
    (
        "timm-arch-typo",
        "model=timm model.arch=resnet10",
        ["model.arch='resnet10' is not a timm model", "Did you mean: resnet10t"],
    ),
    (
        "timm-weights-file-missing",
        "model=timm model.arch=resnet10t model.weights=missing.pth",
        ["model.weights='missing.pth': no such file"],
    ),
    ("hub-not-a-hub-dir", "model=hub model.repo={empty} model.entrypoint=x model.source=local", ["no hubconf.py"]),
    # ---- your own pieces, metrics by name, data files ------------------------------------------
    (
        "loss-is-an-optimizer",
        "loss=custom loss.class_path=torch.optim.Adam",
        ["loss.class_path=torch.optim.Adam is an optimizer, not a loss"],
    ),
    ("optimizer-is-a-loss", "optimizer=custom optimizer.class_path=torch.nn.MSELoss", ["is a loss, not an optimizer"]),
    (
        "scheduler-is-an-optimizer",
        "scheduler=custom scheduler.class_path=torch.optim.SGD",
        ["is an optimizer, not a learning-rate scheduler"],
    ),
    (
        "loss-wrong-argument",
        "loss=custom loss.class_path=torch.nn.HuberLoss loss.kwargs={{delt:1}}",
        ["unexpected keyword argument 'delt'", "It takes", "delta"],
    ),
    (
        "optimizer-wrong-argument",
        "optimizer=custom optimizer.class_path=torch.optim.SGD optimizer.kwargs={{momentun:0.9}}",
        ["momentun", "It takes"],
    ),
    ("target-leftover-key", "loss._target_=torch.nn.L1Loss", ["label_smoothing", "~loss.label_smoothing"]),
    (
        "loss-module-missing",
        "loss=custom loss.class_path=my_loss.Focal",
        ["module 'my_loss' not found", "working directory"],
    ),
    (
        "loss-not-scalar",
        "loss=custom loss.class_path=torch.nn.MSELoss loss.kwargs={{reduction:none}}",
        ["returned a tensor of shape (2, 10)", ".mean()"],
    ),
    (
        "loss-wrong-call",
        "loss=custom loss.class_path=torch.nn.Linear loss.kwargs={{in_features:10,out_features:1}}",
        ["failed on a batch of outputs (2, 10) float32, targets (2,) int64", "loss(outputs, targets)"],
    ),
    ("custom-loss-without-class", "loss=custom", ["loss.class_path is required"]),
    ("metric-typo", "trainer.metrics=[acc,aucroc]", ["unknown metric 'aucroc'", "Did you mean: auroc"]),
    (
        "metric-of-another-task",
        "dataset=diabetes model=mlp loss=mse trainer.metrics=[mae,auroc]",
        ["auroc is a classification metric", "this dataset is a regression task", "mape"],
    ),
    (
        "monitor-not-chosen",
        "trainer.metrics=[acc,f1] trainer.monitor=val/auroc",
        ["trainer.monitor=val/auroc is not among trainer.metrics (acc, f1)"],
    ),
    (
        "metric-class-not-a-metric",
        "trainer.metrics=[acc,torch.nn.Linear]",
        ["is a class but not a torchmetrics.Metric"],
    ),
    ("top5-few-classes", "dataset=iris model=mlp trainer.metrics=[top5]", ["top5 needs more than 5 classes"]),
    (
        "table-unknown-extension",
        "dataset=table dataset.path={file} dataset.target=y",
        ["notes.txt", ".parquet", "rename the file or convert it"],
    ),
    ("arrays-given-a-table", "dataset=arrays dataset.path={csv}", ["dataset=arrays reads .npz", "dataset=table"]),
    ("arrays-without-targets", "dataset=arrays dataset.path={npy}", ["holds one array", "dataset.targets_path"]),
    (
        "arrays-unknown-key",
        "dataset=arrays dataset.path={npz} dataset.inputs_key=images",
        ["dataset.inputs_key='images'", "It holds: inputs, y"],
    ),
    # ---- training recipes ----------------------------------------------------------------------
    (
        "sync-batchnorm-on-cpu",
        "trainer.sync_batchnorm=true trainer.device=cpu",
        ["trainer.sync_batchnorm=true needs CUDA", "SyncBatchNorm runs on GPUs only"],
    ),
    ("ema-decay-1.5", "trainer.ema.decay=1.5", ["trainer.ema.decay=1.5 is not valid", "0 < decay < 1"]),
    ("ema-evaluate-without-ema", "trainer.ema.evaluate=true", ["trainer.ema.evaluate=true needs an EMA"]),
    (
        "swa-after-the-last-epoch",
        "epochs=3 trainer.swa.start_epoch=5",
        ["trainer.swa.start_epoch=5 is after the last epoch (epochs=3)"],
    ),
    (
        "policy-unknown",
        "dataset=image_folder dataset.root={imgs} dataset.transforms.auto_augment={{name:randaug}}",
        ["dataset.transforms.auto_augment={'name': 'randaug'} is not valid", "trivialaugment"],
    ),
    (
        "mixup-negative",
        "dataset=image_folder dataset.root={imgs} dataset.transforms.mixup_alpha=-1",
        ["dataset.transforms.mixup_alpha=-1 is not valid"],
    ),
    (
        "ema-every-zero",
        "trainer.ema.decay=0.9 trainer.ema.every_n_steps=0",
        ["trainer.ema.every_n_steps=0 is not valid"],
    ),
    (
        "swa-lr-zero",
        "trainer.swa.start_epoch=2 trainer.swa.lr=0",
        ["trainer.swa.lr=0 is not valid", "learning rate > 0"],
    ),
    (
        "random-erasing-1.5",
        "dataset=image_folder dataset.root={imgs} dataset.transforms.random_erasing=1.5",
        ["dataset.transforms.random_erasing=1.5 is not valid", "probability from 0 to 1"],
    ),
    (
        "decay-norm-not-bool",
        "optimizer.decay_norm_and_bias=maybe",
        ["optimizer.decay_norm_and_bias='maybe' is not valid: use true or false"],
    ),
    (
        "arrays-layout-unknown",
        "dataset=arrays dataset.path={npz} dataset.layout=nchw",
        ["dataset.layout='nchw' is not valid", "channels_first or channels_last"],
    ),
    (
        "arrays-targets-missing",
        "dataset=arrays dataset.path={npy} dataset.targets_path=missing.npy",
        ["dataset.targets_path='missing.npy': no such file"],
    ),
    ("metric-twice", "trainer.metrics=[acc,acc]", ["trainer.metrics names acc more than once"]),
    # ---- loss, optimizer, scheduler -----------------------------------------------------------
    ("label-smoothing-1.5", "loss.label_smoothing=1.5", ["loss.label_smoothing=1.5 is not valid"]),
    ("huber-delta-zero", "loss=huber dataset=diabetes loss.delta=0", ["loss.delta=0 is not valid"]),
    (
        "class-loss-on-regression",
        "dataset=diabetes model=mlp loss=cross_entropy",
        ["needs class labels, but this dataset is a regression task", "loss=mse"],
    ),
    ("momentum-1.5", "optimizer=sgd optimizer.momentum=1.5", ["optimizer.momentum=1.5 is not valid"]),
    ("betas-out-of-range", "optimizer.betas=[0.9,1.5]", ["optimizer.betas=[0.9, 1.5] is not valid"]),
    ("weight-decay-negative", "optimizer.weight_decay=-1", ["optimizer.weight_decay=-1 is not valid"]),
    ("step-size-zero", "scheduler=step scheduler.step_size=0", ["scheduler.step_size=0 is not valid", "epochs >= 1"]),
    (
        "milestones-decreasing",
        "scheduler=multistep scheduler.milestones=[8,5]",
        ["scheduler.milestones=[8, 5] is not valid", "increasing"],
    ),
    ("plateau-factor-2", "scheduler=plateau scheduler.factor=2", ["scheduler.factor=2 is not valid", "0 < factor < 1"]),
    ("cosine-tmax-zero", "scheduler=cosine scheduler.T_max=0", ["scheduler.T_max=0 is not valid"]),
    ("onecycle-pct-1.5", "scheduler=onecycle scheduler.pct_start=1.5", ["scheduler.pct_start=1.5 is not valid"]),
    (
        "warmup-fraction-1",
        "scheduler=warmup_cosine scheduler.warmup_fraction=1",
        ["scheduler.warmup_fraction=1 is not valid"],
    ),
    # ---- logger -------------------------------------------------------------------------------
    ("wandb-mode-unknown", "logger=wandb logger.wandb.mode=sometimes", ["logger.wandb.mode='sometimes' is not valid"]),
    ("wandb-watch-unknown", "logger=wandb logger.wandb.watch=weights", ["logger.wandb.watch='weights' is not valid"]),
    (
        "mlflow-log-model-not-bool",
        "logger=mlflow logger.mlflow.log_model=maybe",
        ["logger.mlflow.log_model='maybe' is not valid"],
    ),
    (
        "tensorboard-flush-zero",
        "logger=tensorboard logger.tensorboard.flush_secs=0",
        ["logger.tensorboard.flush_secs=0 is not valid"],
    ),
    # ---- subcommands --------------------------------------------------------------------------
    ("eval-no-run", "eval nowhere", ["nowhere: no such run directory"]),
    ("eval-not-a-run", "eval {empty}", ["is not a dlrun run directory"]),
    ("eval-checkpoint-unknown", "eval {run} --checkpoint middle", ["--checkpoint 'middle' is not valid"]),
    ("eval-group-swap", "eval {run} dataset=wine", ["cannot swap a whole group"]),
    ("eval-checkpoint-not-fitting", "eval {edited_run}", ["does not fit the model its config.yaml builds"]),
    (
        "eval-unknown-key",
        "eval {run} trainer.epochz=1",
        ["the run's config has no key trainer.epochz", "Did you mean: epochs"],
    ),
    ("eval-plus-key-nothing-reads", "eval {run} +model.foo=1", ["no part of the run reads model.foo"]),
    ("eval-bad-value", "eval {run} trainer.progress=fancy", ["trainer.progress='fancy' is not valid"]),
    ("predict-config-edited-badly", "predict {bad_value_run} x.png", ["model.dropout=1.5 is not valid"]),
    ("resume-config-edited-badly", "resume {bad_value_run}", ["model.dropout=1.5 is not valid"]),
    ("predict-missing-file", "predict {run} missing.png", ["missing.png: no such file"]),
    ("predict-wrong-kind", "predict {run} {file}", ["dlrun predicts on image files"]),
    ("predict-table-on-images", "predict {run} {csv}", ["not table rows"]),
    ("export-format-unknown", "export {run} --format onnx2", ["invalid choice: 'onnx2'"]),
    ("export-no-run", "export nowhere", ["nowhere: no such run directory"]),
    ("export-onnx-fixed-format-typo", "export {run} --format onnx --no-dynamic-batchez", ["unrecognized arguments"]),
    (
        "batch-size-auto-cpu-no-budget",
        "batch_size=auto trainer=cpu",
        ["batch_size=auto on the CPU needs trainer.max_memory_gb"],
    ),
    (
        "batch-size-auto-two-processes",
        "batch_size=auto trainer.devices=2 trainer.max_memory_gb=4",
        ["batch_size=auto searches one process's batch"],
    ),
    ("batch-size-word", "batch_size=big", ["batch_size='big' must be a whole number >= 1 or auto"]),
    ("max-memory-negative", "trainer.max_memory_gb=-1", ["trainer.max_memory_gb=-1 is not valid"]),
    ("profiler-unknown", "trainer.profiler=pytorch", ["trainer.profiler='pytorch' is not valid", "simple or torch"]),
    ("profile-active-zero", "trainer.profiler=torch trainer.profile.active=0", ["trainer.profile.active=0"]),
    (
        "grad-checkpointing-word",
        "model.grad_checkpointing=sometimes",
        ["model.grad_checkpointing='sometimes' is not valid"],
    ),
    ("summary-model-typo", "summary model=resnet19", ["Unknown model 'resnet19'"]),
    ("data-convert-no-output", "data convert dataset=digits", ["the following arguments are required: --output"]),
    ("data-unknown-action", "data shuffle --output sh", ["invalid choice: 'shuffle'"]),
    (
        "data-convert-shards",
        "data convert dataset=shards dataset.url=sh --output sh2",
        ["dataset=shards is shards already"],
    ),
    ("shards-no-url", "dataset=shards", ["dataset.url is required"]),
    ("shards-nowhere", "dataset=shards dataset.url=nowhere", ["dataset.url=nowhere: no readable manifest.json"]),
    ("shards-s3-no-bucket", "dataset=shards dataset.url=s3:///shards", ["names no bucket: s3://BUCKET/PREFIX"]),
    ("serve-no-run", "serve nowhere", ["nowhere: no such run directory"]),
    ("serve-port-not-a-number", "serve {run} --port abc", ["--port: 'abc' is not a number"]),
    ("serve-port-out-of-range", "serve {run} --port 70000", ["--port 70000: give 1 to 65535"]),
    ("serve-batch-zero", "serve {run} --max-batch-size 0", ["--max-batch-size: 0 must be more than 0"]),
    ("serve-timeout-negative", "serve {run} --batch-timeout-ms -1", ["--batch-timeout-ms -1: give 0 or more"]),
    ("resume-finished", "resume {run}", ["finished already"]),
    ("resume-no-run", "resume nowhere", ["nowhere is not a dlrun run directory"]),
    ("reproduce-bare-override", "reproduce {run} mlp", ["overrides are KEY=VALUE"]),
    ("reproduce-bad-value", "reproduce {run} lr=-1", ["lr=-1 is not a positive number"]),
    ("report-no-dir", "report nowhere", ["nowhere: no such directory"]),
    ("compare-one-run", "compare {run}", ["compare needs at least two runs"]),
    ("compare-no-dir", "compare {run} nowhere", ["nowhere: no such directory"]),
    ("lr-find-few-steps", "lr-find --steps 5", ["--steps 5 is too few"]),
    ("lr-find-bounds", "lr-find --min-lr 1 --max-lr 0.1", ["use 0 < min-lr < max-lr"]),
    ("lr-find-model-typo", "lr-find model=resnet19", ["Unknown model 'resnet19'"]),
    ("lr-find-bad-value", "lr-find model.dropout=1.5", ["model.dropout=1.5 is not valid"]),
    ("lr-find-unknown-key", "lr-find trainer.epochz=3", ["trainer=default has no key trainer.epochz"]),
    ("eval-not-a-runs-config", "eval {not_a_run}", ["is not the config of a dlrun run: it has no dataset, model"]),
    ("lr-find-plus-key-nothing-reads", "lr-find +model.dropuot=0.1", ["no part of the run reads model.dropuot"]),
    ("report-no-runs", "report {empty}", ["holds no runs"]),
    ("models-no-match", "models zzz*", ["no model matches 'zzz*'"]),
    ("datasets-no-match", "datasets zzz", ["no dataset matches 'zzz'"]),
    # ---- text and audio ----------------------------------------------------------------------
    ("text-no-source", "dataset=text model=text_cnn", ["dataset=text reads a table", "give one of the two"]),
    (
        "text-column-typo",
        "dataset=text dataset.path={texts} dataset.text=sentense dataset.target=topic model=text_cnn",
        ["dataset.text='sentense' is not a column of texts.csv", "Did you mean: sentence"],
    ),
    (
        "text-vocab-size-0",
        "dataset=text dataset.path={texts} dataset.text=sentence dataset.target=topic model=text_cnn dataset.tokenizer.vocab_size=0",
        ["dataset.tokenizer.vocab_size=0 is not valid", "a whole number of tokens >= 16"],
    ),
    (
        "text-image-model",
        "dataset=text dataset.path={texts} dataset.text=sentence dataset.target=topic model=resnet18",
        ["model=resnet18 does not read text", "model=text_cnn, rnn"],
    ),
    ("text-model-on-digits", "model=rnn", ["model=rnn reads token ids; dataset=digits is not text"]),
    (
        "text-not-utf8",
        "dataset=text dataset.root={latin_texts} model=text_cnn",
        ["not utf-8 text (byte 0xe9", "dataset.encoding=latin-1"],
    ),
    (
        "text-tokenizer-missing",
        "dataset=text dataset.path={texts} dataset.text=sentence dataset.target=topic model=text_cnn dataset.tokenizer.path=nope/tokenizer.json",
        ["dataset.tokenizer.path='nope/tokenizer.json': no such file or folder"],
    ),
    (
        "hf-without-model",
        "dataset=text dataset.path={texts} dataset.text=sentence dataset.target=topic model=hf",
        ["model=hf needs model.path", "or model.config"],
    ),
    (
        "audio-sample-rate-0",
        "dataset=audio_folder dataset.root={clips} dataset.sample_rate=0",
        ["dataset.sample_rate=0 is not valid", "e.g. 16000"],
    ),
    ("audio-folder-without-audio", "dataset=audio_folder dataset.root={imgs}", ["holds no audio files", ".wav"]),
    (
        "audio-undecodable",
        "dataset=audio_folder dataset.root={bad_clips}",
        ["broken.wav is not an audio file that can be read", "dataset.skip_bad_files=true"],
    ),
    (
        "audio-cnn-on-spectrograms",
        "dataset=audio_folder dataset.root={clips} model=audio_cnn",
        ["model=audio_cnn takes waveforms", "dataset.features=waveform"],
    ),
    (
        "audio-more-mfcc-than-bands",
        "dataset=audio_folder dataset.root={clips} dataset.features=mfcc dataset.n_mfcc=80 dataset.n_mels=40",
        ["dataset.n_mfcc=80 is more than dataset.n_mels=40"],
    ),
]

NETS = """
from torch import nn


class Net(nn.Module):
    def __init__(self, in_features, num_classes, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))

    def forward(self, x):
        return self.net(x)


class ForMnist(nn.Module):
    \"\"\"Written for 28x28 images: digits' 8x8 do not fit its first layer.\"\"\"

    def __init__(self, num_classes):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, num_classes))

    def forward(self, x):
        return self.net(x)
"""


def selected_cases(request) -> list:
    """The rows this pytest session runs (-k picks some): only those are started."""
    chosen = {
        item.callspec.params["name"]
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_bad_input_gets_a_clear_error"
    }
    return [case for case in CASES if case[0] in chosen]


def segmentation_folders(root: Path) -> None:
    """Small segmentation folders (8x8 images, 3 classes): one right, four with one mistake each."""
    from PIL import Image

    for name in ("seg_ok", "seg_bad_size", "seg_bad_value", "seg_no_mask", "seg_rgb_mask"):
        (root / name / "images").mkdir(parents=True)
        (root / name / "masks").mkdir()
        (root / name / "classes.txt").write_text("background\nfish\nrock\n")
        for i in range(6):
            Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(root / name / "images" / f"{i:04d}.png")
            if name == "seg_no_mask" and i == 5:
                continue
            mask = np.full((6 if name == "seg_bad_size" and i == 1 else 8, 8), i % 3, np.uint8)
            if name == "seg_bad_value" and i == 2:
                mask[0, 0] = 7
            image = Image.fromarray(mask, mode="L")
            (image.convert("RGB") if name == "seg_rgb_mask" else image).save(root / name / "masks" / f"{i:04d}.png")


DETECTION_FOLDERS = ("det_ok", "det_missing_image", "det_unknown_category", "det_four_numbers")


def detection_folders(root: Path) -> None:
    """Small detection folders (COCO and YOLO files over the same images): one right, three with one mistake each."""
    import json

    from tests.tasks.detection_data import shapes

    for name in DETECTION_FOLDERS:
        folder = shapes(root / name, n=6, sizes=(32, 32))
        coco = json.loads((folder / "annotations.json").read_text())
        if name == "det_missing_image":
            (folder / "images" / "0005.png").unlink()
        if name == "det_unknown_category":
            coco["annotations"][2]["category_id"] = 7
        if name == "det_four_numbers":
            (folder / "labels" / "0002.txt").write_text("0 0.5 0.5 0.25\n")
        (folder / "annotations.json").write_text(json.dumps(coco))


def text_and_audio(root: Path) -> None:
    """A table of texts, a text folder with a Latin-1 file, audio folders (one with a damaged file)."""
    from tests.inputs.audio_data import clip_folder
    from tests.inputs.text_data import text_folder, topic_table

    topic_table(root / "texts.csv", n=60)
    text_folder(root / "latin_texts", per_class=3)
    (root / "latin_texts" / "sport" / "café.txt").write_bytes("the café won".encode("latin-1"))
    clip_folder(root / "clips", per_class=3, seconds=0.7)
    clip_folder(root / "bad_clips", per_class=3, seconds=0.7)
    (root / "bad_clips" / "chirp" / "broken.wav").write_bytes(b"RIFF\x00\x00 not the rest of a wav")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, request) -> dict:
    """The files the rows name: image folders (one with a damaged file), a CSV file, a finished
    run and copies whose config no longer fits its checkpoint or holds a bad value, a plain
    file, an empty folder. The run is trained only when a chosen row names it."""
    from tests.datasets import fixtures

    root = tmp_path_factory.mktemp("bad_input")
    imgs = fixtures.image_tree(root / "imgs", per_class=6, size=8)
    bad_imgs = fixtures.image_tree(root / "bad_imgs", per_class=6, size=8)
    (bad_imgs / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not the rest of a png")
    (root / "table.csv").write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    (root / "notes.txt").write_text("not data\n")
    np.save(root / "inputs.npy", np.zeros((10, 3), np.float32))
    np.savez(root / "pair.npz", inputs=np.zeros((10, 3), np.float32), y=np.arange(10) % 2)
    (root / "empty").mkdir()
    (root / "not_a_run").mkdir()
    (root / "not_a_run" / "config.yaml").write_text("seed: 0\n")
    if any(re.search(r"\{\w*run\}", args) for _, args, _ in selected_cases(request)):
        trained = dlrun(*QUIET, "model=mlp", "model.hidden=[8]", "epochs=1", f"hydra.run.dir={root}/run", cwd=root)
        assert trained.returncode == 0, trained.stderr
        for copy, old, new in (
            ("edited_run", "hidden:\n  - 8", "hidden:\n  - 16"),
            ("bad_value_run", "dropout: 0.1", "dropout: 1.5"),
        ):
            shutil.copytree(root / "run", root / copy)
            config = root / copy / "config.yaml"
            assert old in config.read_text()
            config.write_text(config.read_text().replace(old, new))
        (root / "bad_value_run" / "summary.json").unlink()  # unfinished: resume would take it
    segmentation_folders(root)
    detection_folders(root)
    text_and_audio(root)
    return {
        **{name: root / name for name in DETECTION_FOLDERS},
        **{name: root / name for name in ("seg_ok", "seg_bad_size", "seg_bad_value", "seg_no_mask", "seg_rgb_mask")},
        "imgs": imgs,
        "bad_imgs": bad_imgs,
        "csv": root / "table.csv",
        "run": root / "run",
        "edited_run": root / "edited_run",
        "bad_value_run": root / "bad_value_run",
        "file": root / "notes.txt",
        "empty": root / "empty",
        "not_a_run": root / "not_a_run",
        "root": root,
        "npy": root / "inputs.npy",
        "npz": root / "pair.npz",
        **{name: root / name for name in ("clips", "bad_clips", "latin_texts")},
        "texts": root / "texts.csv",
    }


SUBCOMMAND_WORDS = ("eval", "predict", "export", "resume", "reproduce", "report", "compare", "lr-find", "models",
                    "datasets", "serve", "summary", "data", "predcit")  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(workspace, request) -> dict:
    """The chosen rows, two at a time, each in a folder of its own: {id: (CompletedProcess, folder)}.
    Each row is the `dlrun` command in a process of its own (tests.processes: forked from a
    server that imported dlrun and torch once, so a row costs what dlrun does, not Python's start-up)."""
    pending, running, results = list(selected_cases(request)), [], {}
    while pending or running:
        while pending and len(running) < max(2, os.cpu_count() or 2):
            name, args, _ = pending.pop(0)
            cwd = workspace["root"] / "cases" / name
            cwd.mkdir(parents=True)
            (cwd / "my_nets.py").write_text(NETS)
            argv = args.format(**{k: str(v) for k, v in workspace.items()}).split()
            if argv[0] not in SUBCOMMAND_WORDS:  # a training run: quiet, unless the row sets those keys itself
                argv += [a for a in QUIET if a.split("=")[0] not in {x.split("=")[0] for x in argv}]
            running.append((name, cwd, begin(argv, cwd, cli_env()), time.monotonic()))
        for row in list(running):
            name, cwd, started, since = row
            result = finish(started, 300, wait=time.monotonic() - since > 300)  # a row that hangs fails
            if result is not None:
                results[name] = (result, cwd)
                running.remove(row)
        time.sleep(0.02)
    return results


def test_the_suite_covers_what_it_promises():
    assert len(CASES) >= 60 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("name,args,fragments", CASES, ids=[c[0] for c in CASES])
@pytest.mark.slow
def test_bad_input_gets_a_clear_error(outcomes, workspace, name, args, fragments):
    if name == "gpu-without-cuda" and __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    result, cwd = outcomes[name]
    said = result.stderr + result.stdout
    assert result.returncode != 0, said
    for fragment in fragments:
        assert fragment in said, said
    assert "Traceback" not in said
    finished = [p.parent for p in cwd.rglob("summary.json")]
    assert not finished, f"a rejected run left a finished-looking run directory: {finished}"
    assert not (workspace["run"] / "error.log").exists()


def test_several_problems_are_reported_together(dlrun_cli):
    result = dlrun_cli("lr=-1", "epochs=0", "seed=-5", "logger=none")
    assert result.returncode == 2
    assert result.stderr.count("  - ") == 3, result.stderr


def test_help_lists_groups_and_examples(dlrun_cli):
    result = dlrun_cli("--help")
    assert result.returncode == 0
    assert "== Config groups" in result.stdout
    assert "optimizer: adadelta, adagrad, adam, adamw, custom, rmsprop, sgd" in result.stdout
    assert "dlrun model=resnet50 optimizer=adam lr=1e-3" in result.stdout


def test_cfg_job_prints_the_composed_config_without_training(dlrun_cli, tmp_path):
    result = dlrun_cli("--cfg", "job", "model=mlp", "lr=0.01")
    assert result.returncode == 0
    assert "name: mlp" in result.stdout and "lr: 0.01" in result.stdout
    assert not (tmp_path / "outputs").exists()


def test_info_and_shell_completion(dlrun_cli):
    info = dlrun_cli("--info", "searchpath")
    assert info.returncode == 0 and "conf" in info.stdout
    completion = dlrun_cli("--shell-completion", "install=bash")
    assert completion.returncode == 0 and "complete" in completion.stdout


def test_python_dash_m(tmp_path):
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "dlrun", "model=resnet19"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Did you mean: resnet18" in result.stderr


def test_cli_module_imports_no_torch():
    import sys

    code = "import sys, dlrun.cli; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", "dlrun.cli must not import torch at module level"


WRONG_NET = """
from torch import nn


class Net(nn.Module):
    \"\"\"Fits the data, but its training-mode forward has a bug.\"\"\"

    def __init__(self, in_features, num_classes):
        super().__init__()
        self.layer = nn.Linear(in_features, num_classes)

    def forward(self, x):
        if self.training:
            raise KeyError("dropout_rate")   # a bug in the user's own code
        return self.layer(x.flatten(1))
"""


@pytest.mark.slow
def test_an_unexpected_error_is_one_message_with_the_traceback_in_error_log(dlrun_cli, tmp_path):
    (tmp_path / "wrong_net.py").write_text(WRONG_NET)
    args = ("model=custom", "model.class_path=wrong_net.Net", "epochs=1", "logger=none", "trainer.progress=none")
    result = dlrun_cli(*args)
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert "KeyError: 'dropout_rate'" in result.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    assert "Traceback" in (run_dir / "error.log").read_text() and not (run_dir / "summary.json").exists()
    assert str(run_dir / "error.log") in result.stderr
    debug = dlrun_cli(*args, env={"DLRUN_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr

    sweep = dlrun_cli("-m", *args, "lr=1e-3,1e-2", "hydra.sweep.dir=sweep")  # every job fails; the sweep ends
    assert sweep.returncode == 0 and "Traceback" not in sweep.stderr
    for job in ("0", "1"):
        assert "dropout_rate" in (tmp_path / "sweep" / job / "failed.json").read_text()
        assert "Traceback" in (tmp_path / "sweep" / job / "error.log").read_text()
    assert (tmp_path / "sweep" / "report.csv").read_text().count("failed") == 2


@pytest.mark.slow
def test_an_unexpected_error_in_a_subcommand_is_one_message_with_error_log(dlrun_cli, tmp_path):
    module = tmp_path / "changing_net.py"
    module.write_text(WRONG_NET.replace('raise KeyError("dropout_rate")', "pass"))
    trained = dlrun_cli(
        "model=custom",
        "model.class_path=changing_net.Net",
        "epochs=1",
        "logger=none",
        "trainer.progress=none",
        "hydra.run.dir=run",
    )
    assert trained.returncode == 0, trained.stderr
    module.write_text(WRONG_NET.replace("if self.training:", "if not self.training:"))  # edited since
    result = dlrun_cli("eval", "run", "--trust", "changing_net")
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    assert "KeyError: 'dropout_rate'" in result.stderr and str(Path("run") / "error.log") in result.stderr
    assert "Traceback" in (tmp_path / "run" / "error.log").read_text()
