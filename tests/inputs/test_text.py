"""dataset=text: tables and folders of texts, a tokenizer trained on the training split (the same
in every training) or read from a file, padded batches whose padding no model reads, the text
models, and a run from the CLI that learns the topics, predicts on texts, exports, resumes
bit-identical and scores on two processes as on one."""

import argparse
import csv
import json
import logging

import pytest
import torch

from dlrun.datasets import build_bundle
from tests.inputs.text_data import TOPICS, multilabel_table, text_folder, topic_table
from tests.processes import dlrun
from tests.tasks.same_runs import killed_and_resumed, two_processes_and_one

QUIET = ("logger=none", "trainer.progress=none", "trainer.device=cpu")
TOPIC = ("dataset=text", "dataset.text=sentence", "dataset.target=topic")
TINY_BERT = (
    "model.config={model_type:bert,hidden_size:32,num_hidden_layers:2,num_attention_heads:2,intermediate_size:64}"
)


@pytest.fixture(scope="module")
def topics(tmp_path_factory):
    return topic_table(tmp_path_factory.mktemp("texts") / "topics.csv", n=1200)


def test_a_run_trains_its_tokenizer_once(make_cfg, topics):
    """tokenizers' WordPiece and Unigram trainers may give another vocabulary when trained again
    on the same texts, so a resumed run, the other processes of a DDP run, eval and reproduce
    take the run's own (`fitted`) and tokenise exactly as it did."""
    from dlrun.datasets import fit

    for kind in ("wordpiece", "bpe", "unigram"):
        cfg = make_cfg(*TOPIC, f"dataset.path={topics}", "model=text_cnn", f"dataset.tokenizer.kind={kind}")
        first = build_bundle(cfg.dataset)
        again = build_bundle(cfg.dataset, fitted={"tokenizer": first.info.preprocess["tokenizer"]})
        vocab = [json.loads(b.info.preprocess["tokenizer"])["model"]["vocab"] for b in (first, again)]
        if kind == "unigram":  # [piece, score] pairs; a score's last digit may change through JSON
            vocab = [[(piece, round(score, 9)) for piece, score in v] for v in vocab]
        assert vocab[0] == vocab[1], kind
        assert all(torch.equal(again.test[i][0], first.test[i][0]) for i in range(len(first.test))), kind
        assert set(fit(cfg.dataset)) == {"tokenizer"}
    assert fit(make_cfg().dataset) is None  # digits learn nothing before training


def test_text_forms_give_their_tasks(make_cfg, topics, tmp_path, caplog):
    folder = text_folder(tmp_path / "folder", per_class=30)
    (folder / "sport" / "empty.txt").write_text("  \n")
    tags = multilabel_table(tmp_path / "tags.csv", n=200)
    rows = ["sentence,score"] + [f"{'big ' * (i % 5)}win match,{i % 5 * 1.5}" for i in range(60)] + [",2.0"]
    (tmp_path / "scores.csv").write_text("\n".join(rows) + "\n")
    forms = {
        "table": (*TOPIC, f"dataset.path={topics}"),
        "folder": ("dataset=text", f"dataset.root={folder}"),
        "multilabel": ("task=multilabel", "dataset=text", f"dataset.path={tags}", "dataset.text=sentence",
                       "dataset.target=tags", "dataset.label_sep=|"),
        "regression": ("dataset=text", f"dataset.path={tmp_path / 'scores.csv'}", "dataset.text=sentence",
                       "dataset.target=score", "task=regression", "loss=mse"),
    }  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="dlrun"):
        bundles = {name: build_bundle(make_cfg(*args, "model=rnn").dataset) for name, args in forms.items()}
    infos = {name: bundle.info for name, bundle in bundles.items()}
    assert infos["table"].class_names == infos["folder"].class_names == tuple(sorted(TOPICS))
    assert infos["multilabel"].task == "multilabel" and infos["multilabel"].class_names == tuple(sorted(TOPICS))
    assert infos["regression"].task == "regression" and infos["regression"].target_std[0] > 0
    assert "left out 1 file with no text" in caplog.text and "left out 1 row with no text" in caplog.text
    assert len(bundles["regression"].train) + len(bundles["regression"].val) + len(bundles["regression"].test) == 60
    ids, target = bundles["table"].train[0]
    tokens = json.loads(infos["table"].preprocess["tokenizer"])["model"]["vocab"]
    assert ids.dtype == torch.int64 and ids[0] == tokens["[CLS]"] and ids[-1] == tokens["[SEP]"]
    assert infos["table"].vocab_size == len(tokens) < 8000


def test_bucketed_batches_hold_texts_of_similar_length_and_every_text_once():
    from dlrun.datasets.loaders import LengthBuckets

    lengths = torch.randint(3, 60, (1000,), generator=torch.Generator().manual_seed(0))
    one = LengthBuckets(lengths, 16, torch.Generator().manual_seed(1), drop_last=False)
    batches = list(one)
    assert sorted(i for b in batches for i in b) == list(range(1000)) and len(batches) == len(one) == 63
    padding = sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in map(torch.tensor, batches))
    shuffled = torch.randperm(1000, generator=torch.Generator().manual_seed(1)).split(16)
    unbucketed = sum(int(lengths[b].max()) * len(b) - int(lengths[b].sum()) for b in shuffled)
    assert padding < unbucketed / 10
    again = LengthBuckets(lengths, 16, torch.Generator().manual_seed(1), drop_last=False)
    assert list(again) == batches  # a pure function of the generator's state (checkpointed: resume replays it)
    shares = [LengthBuckets(lengths, 16, None, drop_last=False, shard=(rank, 3), seed=5) for rank in range(3)]
    for share in shares:
        share.set_epoch(2)
    seen = [i for share in shares for b in share for i in b]
    assert set(seen) == set(range(1000)) and len(seen) == 1002  # padded to a multiple of 3, as DistributedSampler


@pytest.mark.parametrize("name", ["text_cnn", "rnn", "transformer", "hf"])
def test_what_a_text_model_says_does_not_depend_on_the_padding(make_cfg, topics, name):
    from dlrun import models
    from dlrun.datasets.text.samples import pad

    extra = (TINY_BERT,) if name == "hf" else ()
    cfg = make_cfg(*TOPIC, f"dataset.path={topics}", f"model={name}", *extra)
    bundle = build_bundle(cfg.dataset)
    model = models.build(cfg.model, bundle.info).eval()
    texts = [bundle.test[i][0] for i in range(4)]
    pad_id = bundle.info.preprocess["pad_id"]
    short = pad(texts, pad_id)
    longer = pad([*texts, torch.full((short.ids.shape[1] + 9,), 5)], pad_id)  # a longer text pads the others more
    with torch.no_grad():
        assert torch.allclose(model(short), model(longer)[:4], atol=1e-5), name


def test_a_text_run_learns_the_topics_and_predicts_on_texts(train, topics, tmp_path, capsys):
    """The done-when command's run, in this process: test accuracy >= 0.9; then `dlrun predict`
    on --text, a text file's lines and a table's rows, with the run's saved tokenizer."""
    from dlrun.commands import predict

    run_dir = train(*TOPIC, f"dataset.path={topics}", "model=text_cnn", "epochs=4")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["test/acc"] >= 0.9, summary["test"]
    saved = torch.load(run_dir / "checkpoints" / "best.pt", weights_only=True)["data_info"]["preprocess"]
    assert (run_dir / "tokenizer.json").read_text() == saved["tokenizer"]
    (tmp_path / "lines.txt").write_text("The referee and the coach after the match\n\nRain and a storm today\n")
    (tmp_path / "rows.csv").write_text("sentence\nthe minister and the senate vote\n")
    args = argparse.Namespace(
        run=str(run_dir), inputs=[str(tmp_path / "lines.txt"), str(tmp_path / "rows.csv")],
        text=["Stock prices and bank shares fell"], output=str(tmp_path / "p.csv"), checkpoint="best", trust=[],
        pictures_dir=None, score_threshold=0.5, json=None,
    )  # fmt: skip
    assert predict.main(args) == 0
    with open(tmp_path / "p.csv") as f:
        rows = {row["input"]: row["class"] for row in csv.DictReader(f)}
    assert rows == {"text 1": "finance", "lines.txt:1": "sport", "lines.txt:3": "weather", "rows.csv:1": "politics"}


def test_a_multilabel_text_run_learns_the_tags(train, tmp_path):
    """Sentences of one or two topics, their tags a '|'-separated list: task=multilabel on text."""
    tags = multilabel_table(tmp_path / "tags.csv", n=800)
    run_dir = train("task=multilabel", "dataset=text", f"dataset.path={tags}", "dataset.text=sentence",
                    "dataset.target=tags", "dataset.label_sep=|", "model=text_cnn", "epochs=3")  # fmt: skip
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["test/map"] >= 0.9 and summary["monitor"] == "val/map", summary["test"]


@pytest.mark.slow
def test_hf_from_a_config_and_from_a_local_folder(train, topics, tmp_path, capsys):
    """model=hf: a tiny BERT built from a config trains and `predict --text` answers; saved as a
    Hugging Face folder (weights,
    config, tokenizer.json) it is read back with its own tokenizer and fine-tuned. Its exported
    program gives what the model gives (padded to max_length: its export specialises the length)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    first = train(
        *TOPIC, f"dataset.path={topics}", "model=hf", TINY_BERT, "epochs=3", "lr=3e-3", run_dir=tmp_path / "a"
    )
    learnt = json.loads((first / "summary.json").read_text())["test"]["test/acc"]
    assert learnt > 0.6
    from dlrun.commands import predict

    args = argparse.Namespace(
        run=str(first), inputs=[], text=["The goal and the coach won the league match"], output=None,
        checkpoint="best", trust=[], pictures_dir=None, score_threshold=0.5, json=None,
    )  # fmt: skip
    assert predict.main(args) == 0
    assert "sport" in capsys.readouterr().out
    from dlrun.commands import export as export_command

    export_args = export_command.parser().parse_args([str(first), "--format", "exported"])
    assert export_command.main(export_args) == 0
    meta = json.loads((first / "export" / "model.json").read_text())["input"]
    length = meta.get("padded_to") or 16  # Hugging Face's export specialises the length: padded to max_length
    ids = torch.full((3, length), meta["pad_id"])
    ids[:, :4] = torch.tensor([2, 40, 41, 3])
    mask = ids != meta["pad_id"]
    from dlrun.datasets.text.samples import TextBatch
    from dlrun.runs.saved_run import load_run, rebuild_model

    program = torch.export.load(str(first / "export" / "model.pt2")).module()
    with torch.no_grad():
        assert torch.allclose(program(ids, mask), rebuild_model(load_run(first))(TextBatch(ids, mask)), atol=1e-5)
    model = rebuild_model(load_run(first)).model
    model.save_pretrained(tmp_path / "bert")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(first / "tokenizer.json")), pad_token="[PAD]"
    )
    fast.save_pretrained(tmp_path / "bert")
    second = train(*TOPIC, f"dataset.path={topics}", "model=hf", f"model.path={tmp_path / 'bert'}", "epochs=1",
                   run_dir=tmp_path / "b")  # fmt: skip
    config = (second / "config.yaml").read_text()
    assert f"path: {tmp_path / 'bert'}" in config.split("tokenizer:")[1]  # the folder's own tokenizer
    first_epoch = (second / "metrics.csv").read_text().splitlines()[1].split(",")
    assert float(first_epoch[3]) > 0.6  # val/acc after one more epoch: the folder's weights were read


@pytest.fixture(scope="module")
def few_topics(tmp_path_factory):
    """A smaller table for the tests that train in several processes."""
    return topic_table(tmp_path_factory.mktemp("few_texts") / "topics.csv", n=400)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, topics):
    cwd = tmp_path_factory.mktemp("text_cli")
    result = dlrun(*QUIET, *TOPIC, f"dataset.path={topics}", "model=transformer", "epochs=2", "hydra.run.dir=run",
                   cwd=cwd)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, cwd / "run", result


@pytest.mark.slow
def test_the_cli_says_what_the_texts_are_and_predicts(cli_run):
    cwd, run_dir, result = cli_run
    said = (run_dir / "train.log").read_text()
    assert "texts of up to 128 tokens" in said and "tokenizer: bpe trained on the training split" in said
    answered = dlrun("predict", str(run_dir), "--text", "The team won the league", cwd=cwd)
    assert answered.returncode == 0, answered.stderr
    assert "sport" in answered.stdout
    empty = dlrun("predict", str(run_dir), "--text", " ", cwd=cwd)
    assert empty.returncode != 0 and "--text number 1 is empty" in empty.stderr and "Traceback" not in empty.stderr


@pytest.mark.slow
def test_an_exported_text_model_takes_ids_and_mask(cli_run):
    """The exported program, the TorchScript module and the ONNX file give what the run's model
    gives, at any batch size and length; model.json names the tokenizer written beside it."""
    from tokenizers import Tokenizer

    from dlrun.datasets.text.samples import pad
    from dlrun.runs.saved_run import load_run, rebuild_model

    cwd, run_dir, _ = cli_run
    exported = dlrun("export", str(run_dir), "--format", "all", cwd=cwd)
    assert exported.returncode == 0, exported.stderr
    meta = json.loads((run_dir / "export" / "model.json").read_text())
    assert meta["input"]["kind"] == "text" and meta["input"]["tokenizer"] == "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(run_dir / "export" / meta["input"]["tokenizer"]))
    texts = ["rain and wind", "the bank and the market said shares fell today after the vote", "goal"]
    batch = pad([torch.tensor(e.ids) for e in tokenizer.encode_batch(texts)], meta["input"]["pad_id"])
    with torch.no_grad():
        expected = rebuild_model(load_run(run_dir))(batch)
        program = torch.export.load(str(run_dir / "export" / "model.pt2")).module()
        assert torch.allclose(program(batch.ids, batch.mask), expected, atol=1e-5)
        scripted = torch.jit.load(str(run_dir / "export" / "model.torchscript.pt"))
        assert torch.allclose(scripted(batch.ids[:2], batch.mask[:2]), expected[:2], atol=1e-5)
    import onnxruntime  # the ONNX file ("all" includes it) takes ids and mask of any batch and length

    assert "onnx check: onnxruntime vs PyTorch on 8 test samples" in exported.stderr
    session = onnxruntime.InferenceSession(str(run_dir / "export" / "model.onnx"))
    got = session.run(None, {"ids": batch.ids.numpy(), "mask": batch.mask.numpy()})[0]
    assert torch.allclose(torch.from_numpy(got), expected, atol=1e-4)


@pytest.mark.slow
def test_a_killed_text_run_resumes_bit_identical(few_topics, tmp_path):
    args = (
        *QUIET,
        *TOPIC,
        f"dataset.path={few_topics}",
        "model=rnn",
        "epochs=2",
        "batch_size=16",
        "dataset.bucket=true",
    )
    killed_and_resumed(args, tmp_path, every_n_steps=5)  # batches bucketed by length: their order replayed too


@pytest.mark.slow
def test_two_processes_score_a_text_split_as_one_does(few_topics, tmp_path):
    args = (*QUIET, *TOPIC, f"dataset.path={few_topics}", "model=text_cnn", "epochs=1", "dataset.bucket=true")
    ddp, one = two_processes_and_one(args, tmp_path)
    assert ddp["test/acc"] == one["test/acc"] and ddp["test/f1"] == pytest.approx(one["test/f1"], abs=1e-9)


@pytest.mark.slow
def test_a_sweep_over_text_models_ranks_them(few_topics, tmp_path):
    swept = dlrun("-m", *QUIET, *TOPIC, f"dataset.path={few_topics}", "model=text_cnn,rnn", "epochs=1", cwd=tmp_path)
    assert swept.returncode == 0, swept.stderr[-3000:]
    (sweep,) = (tmp_path / "outputs" / "multirun").iterdir()
    with open(sweep / "report.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(row["model"] for row in rows) == ["rnn", "text_cnn"]
    assert all(row["status"] == "completed" and float(row["test/acc"]) > 0.3 for row in rows)
    assert all((sweep / row["job"] / "tokenizer.json").is_file() for row in rows)
