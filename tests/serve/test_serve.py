"""`dlrun serve` as a user runs it: a real server process on a free port of 127.0.0.1, real HTTP
clients. Its answers are `dlrun predict`'s for the same files and rows (digits images, a table,
texts, audio files), /metadata is export's model.json, concurrent requests are batched, bad
requests get a 4xx and one message (the server answering the next good request), and a model
that fails gets a 500 while the server keeps serving."""

import base64
import csv
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.datasets.fixtures import digit_pngs
from tests.datasets.test_files import houses
from tests.inputs.audio_data import clip_folder
from tests.inputs.text_data import topic_table
from tests.processes import QUIET, dlrun
from tests.serve.server import Server

pytestmark = pytest.mark.slow  # trained runs and servers in processes of their own


def trained(cwd, *overrides, run: str = "run"):
    result = dlrun(*QUIET, *overrides, f"hydra.run.dir={run}", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd / run


def predicted(run_dir, cwd, *inputs) -> list[dict]:
    """`dlrun predict`'s rows for the same inputs (its --output CSV)."""
    result = dlrun("predict", str(run_dir), *map(str, inputs), "--output", str(cwd / "predict.csv"), cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    with open(cwd / "predict.csv") as f:
        return list(csv.DictReader(f))


def same_answers(served: list[dict], rows: list[dict], keys: tuple) -> None:
    for answer, row in zip(served, rows, strict=True):
        for key in keys:
            if isinstance(answer[key], float):
                assert answer[key] == pytest.approx(float(row[key]), rel=1e-5, abs=1e-6), key
            else:
                assert str(answer[key]) == row[key], key


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """A digits run, 20 digit PNGs, and the run served."""
    cwd = tmp_path_factory.mktemp("serve_digits")
    run_dir = trained(cwd, "epochs=3")
    pngs = digit_pngs(cwd, range(20))
    server = Server(run_dir, log=cwd / "serve.log")
    yield cwd, run_dir, pngs, server
    server.stop()


def test_digits_answers_are_predicts_and_metadata_is_model_json(digits):
    cwd, run_dir, pngs, server = digits
    rows = predicted(run_dir, cwd, *pngs)
    with ThreadPoolExecutor(8) as pool:  # one image per request, concurrently: batched together
        answers = list(pool.map(lambda p: server.post(files={"file": (p.name, p.read_bytes(), "image/png")}), pngs))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200]
    served = [a.json()["predictions"][0] for a in answers]
    same_answers(served, rows, ("input", "class", "probability", "runner_up"))
    assert sum(a["class"] == str(i % 10) for i, a in enumerate(served)) >= 17  # the digits are 0..9, 0..9
    top = served[0]["top"]
    assert len(top) == 5 and top[0]["class"] == served[0]["class"]
    assert top == sorted(top, key=lambda t: -t["probability"])

    # the same images in one JSON request, base64; top_k from the body
    body = {"inputs": [base64.b64encode(p.read_bytes()).decode() for p in pngs], "top_k": 3}
    together = server.post(json=body).json()["predictions"]
    same_answers(together, rows, ("class", "probability"))
    assert [len(a["top"]) for a in together] == [3] * 20
    raw = server.post(data=pngs[3].read_bytes(), headers={"Content-Type": "image/png"}).json()["predictions"][0]
    assert raw["class"] == rows[3]["class"]

    exported = dlrun("export", str(run_dir), "--format", "safetensors", cwd=cwd)
    assert exported.returncode == 0, exported.stderr
    card = json.loads((run_dir / "export" / "model.json").read_text())
    assert server.get("/metadata").json() == {k: v for k, v in card.items() if k != "files"}
    assert card["versions"]["torch"] and card["run"] == "run"
    health = server.get("/health").json()
    assert health["status"] == "ok" and health["inputs"] >= 41 and health["batches"] < health["inputs"]
    docs = server.get("/openapi.json").json()
    assert "/predict" in docs["paths"] and server.get("/docs").status_code == 200


def test_concurrent_clients_are_batched_without_errors(digits):
    _, _, pngs, server = digits
    before = server.get("/health").json()

    def client(n):
        return [
            server.post(files={"file": ("d.png", pngs[(n + i) % 20].read_bytes(), "image/png")}).status_code
            for i in range(5)
        ]

    with ThreadPoolExecutor(32) as pool:
        codes = [code for codes in pool.map(client, range(32)) for code in codes]
    assert codes == [200] * 160
    after = server.get("/health").json()
    inputs, batches = after["inputs"] - before["inputs"], after["batches"] - before["batches"]
    assert inputs == 160 and batches < 120  # several inputs per model call


def png_bytes(path) -> bytes:
    return path.read_bytes()


BAD_IMAGE_REQUESTS = {
    "a text file as the image": (
        dict(files={"file": ("notes.txt", b"hello there", "text/plain")}),
        400,
        "not an image",
    ),
    "a truncated PNG": ("truncated", 400, "could not be decoded"),
    "a PNG header with garbage": (
        dict(data=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, headers={"Content-Type": "image/png"}),
        400,
        "not an image dlrun can read",
    ),
    "a 100 MB upload": (dict(data=b"\0" * (100 * 2**20), headers={"Content-Type": "image/png"}), 413, "at most 20 MB"),
    "an empty body": (dict(), 400, "the request has no input"),
    "an empty file": (dict(files={"file": ("d.png", b"", "image/png")}), 400, "is empty"),
    "invalid JSON": (dict(data=b"{inputs: [", headers={"Content-Type": "application/json"}), 400, "not valid JSON"),
    "a row for an image run": (dict(json={"inputs": [{"area": 3}]}), 400, "expected the image file as a base64"),
    "inputs not a list": (dict(json={"inputs": "abc"}), 400, '"inputs" must be a list'),
    "invalid base64": (dict(json={"inputs": ["not base64!"]}), 400, "not valid base64"),
    "an unknown key": (dict(json={"input": "aGk=", "imagez": 1}), 400, "unknown key(s) imagez"),
    "another content type": (dict(data=b"a,b\n1,2", headers={"Content-Type": "text/csv"}), 415, "text/csv"),
    "top_k out of range": (dict(json={"input": "aGk=", "top_k": 0}), 400, "top_k=0: give 1 to 10"),
    "top_k not a number": ("top_k=many", 400, "is not a number"),
    "an unknown option": ("colour=red", 400, "unknown option 'colour'"),
    "too many inputs": (dict(json={"inputs": ["aGk="] * 300}), 413, "at most 256"),
    "a form field that is not an input": (dict(files={"label": (None, "seven")}), 400, "form field 'label'"),
}


@pytest.mark.parametrize("kind", BAD_IMAGE_REQUESTS)
def test_bad_requests_get_a_message_and_the_server_goes_on(digits, kind):
    _, _, pngs, server = digits
    request, status, message = BAD_IMAGE_REQUESTS[kind]
    if request == "truncated":
        request = dict(data=pngs[0].read_bytes()[:70], headers={"Content-Type": "image/png"})
    if isinstance(request, str):  # a query string
        answer = server.post(params=dict([request.split("=")]), files={"file": ("d.png", png_bytes(pngs[0]))})
    else:
        answer = server.post(**request)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert message in error and "Traceback" not in error
    good = server.post(files={"file": ("d.png", pngs[1].read_bytes(), "image/png")})
    assert good.status_code == 200 and good.json()["predictions"][0]["class"] == "1"


def test_wrong_routes_and_the_log_hold_no_traceback(digits):
    _, _, _, server = digits
    assert server.get("/predict").status_code == 405
    missing = server.get("/nothing")
    assert missing.status_code == 404 and "POST /predict" in missing.json()["error"]
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "413 POST /predict: the upload is 100.0 MB" in log  # one line per refused request


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("serve_table")
    (cwd / "fussy.py").write_text(FUSSY)
    path = houses(cwd / "houses.csv")
    run_dir = trained(
        cwd, "dataset=csv", f"dataset.path={path}", "dataset.target=price", "loss=mse", "model=custom",
        "model.class_path=fussy.Fussy", "epochs=5",
    )  # fmt: skip
    server = Server(run_dir, "--trust", "fussy", log=cwd / "serve.log")
    yield cwd, run_dir, server
    server.stop()


# A regression MLP that refuses (raises) on inputs far outside what it was trained on, in eval.
FUSSY = """
import torch
from torch import nn

class Fussy(nn.Module):
    def __init__(self, in_features, num_outputs):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, 16), nn.ReLU(), nn.Linear(16, num_outputs))

    def forward(self, x):
        if not self.training and bool((x.abs() > 1000).any()):
            raise RuntimeError("an input far outside the training data")
        return self.net(x)
"""


def test_table_rows_answer_as_predict_and_a_failing_model_is_a_500(table):
    cwd, run_dir, server = table
    new = houses(cwd / "new.csv", n=5, seed=9)
    rows = predicted(run_dir, cwd, "--trust", "fussy", new)
    features = server.get("/metadata").json()["input"]["features"]
    frame = [{f: float(r[f]) for f in features} for r in csv.DictReader(open(new))]
    answers = server.post(json={"inputs": frame}).json()["predictions"]
    same_answers(answers, rows, ("value",))
    bare = server.post(json=frame[0]).json()["predictions"][0]  # a bare row object
    assert bare["value"] == pytest.approx(float(rows[0]["value"]), rel=1e-5)

    bad = {
        "a missing feature": ({k: v for k, v in list(frame[0].items())[1:]}, "lacks the feature(s)"),
        "a string feature": ({**frame[0], features[0]: "big"}, "must be numbers"),
        "an unknown feature": ({**frame[0], "colour": 1.0}, "does not take: colour"),
        "a true/false feature": ({**frame[0], features[0]: True}, "must be numbers"),
    }
    for kind, (row, message) in bad.items():
        answer = server.post(json={"inputs": [row]})
        assert answer.status_code == 400 and message in answer.json()["error"], (kind, answer.text)
    nan = server.post(data=json.dumps({"inputs": [{**frame[0], features[0]: float("nan")}]}),
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert nan.status_code == 400 and "finite" in nan.json()["error"]

    far = {**frame[0], features[0]: 1e12}
    failed = server.post(json={"inputs": [far]})
    assert failed.status_code == 500
    assert failed.json()["error"] == (
        "the model failed on this input: RuntimeError: an input far outside the training data"
    )
    with ThreadPoolExecutor(4) as pool:  # a bad input batched with good ones fails alone
        mixed = list(pool.map(lambda row: server.post(json={"input": row}), [frame[1], far, frame[2], frame[3]]))
    assert [m.status_code for m in mixed] == [200, 500, 200, 200]
    assert server.post(json={"inputs": frame}).status_code == 200  # still serving
    assert "Traceback" not in server.log.read_text()
    assert "an input far outside" in (run_dir / "serve-errors.log").read_text()  # the traceback, kept


def test_texts_and_audio_files_answer_as_predict(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("serve_text_audio")
    topics = topic_table(cwd / "topics.csv", n=400)
    text_run = trained(cwd, "dataset=text", "dataset.text=sentence", "dataset.target=topic",
                       f"dataset.path={topics}", "model=text_cnn", "epochs=2")  # fmt: skip
    texts = ["The team won the league", "Shares fell on the market today", "A new phone was announced"]
    (cwd / "texts.txt").write_text("\n".join(texts) + "\n")
    rows = predicted(text_run, cwd, cwd / "texts.txt")
    server = Server(text_run, log=cwd / "text.log")
    try:
        answers = server.post(json={"inputs": texts}).json()["predictions"]
        same_answers(answers, rows, ("class", "probability"))
        plain = server.post(data=texts[0].encode(), headers={"Content-Type": "text/plain"}).json()["predictions"]
        assert plain[0]["class"] == rows[0]["class"]
        empty = server.post(json={"inputs": ["  "]})
        assert empty.status_code == 400 and "is empty" in empty.json()["error"]
    finally:
        server.stop()

    clips = clip_folder(cwd / "clips", per_class=8)
    audio_run = trained(cwd, "dataset=audio_folder", f"dataset.root={clips}", "model=cnn", "epochs=1", run="audio")
    files = sorted(clips.rglob("*.wav"))[::8][:4]
    rows = predicted(audio_run, cwd, *files)
    server = Server(audio_run, log=cwd / "audio.log")
    try:
        form = [("file", (f.name, f.read_bytes(), "audio/wav")) for f in files]
        answers = server.post(files=form).json()["predictions"]
        same_answers(answers, rows, ("input", "class", "probability"))
        noise = server.post(files={"file": ("x.wav", b"RIFF0000WAVEfmt garbage", "audio/wav")})
        assert noise.status_code == 400 and "not an audio file" in noise.json()["error"]
    finally:
        server.stop()
