"""A /predict request's body as the run's inputs. Accepted:

  multipart/form-data    one or more files (any field name): images, audio files; for a text
                         run, text files or `text` fields
  application/json       {"input": X} or {"inputs": [X, ...]}, X being base64 of an image or
                         audio file (a data: URL too), a text, or an object of features (a
                         table row); a table run also takes a bare row object or a list of them
  image/*, audio/*,      the body is one file
  application/octet-stream, text/plain (text runs)

Options (the query string, or keys beside "inputs"): top_k (classification), score_threshold
(detection). Anything else is a RequestError: the status and one message.
"""

import json

MAX_INPUTS = 256  # per request; more: 413
OPTIONS = ("top_k", "score_threshold")


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


async def read_inputs(request, predictor) -> list:
    """[(how, value, name)] to be preprocessed (how: "bytes" or "value"), and the options."""
    options = dict(request.query_params)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        raw = await form_inputs(request, predictor, options)
    else:
        body = await request.body()
        if not body:
            raise RequestError(400, f"the request has no input: {how_to_send(predictor)}")
        if kind == "application/json":
            raw = json_inputs(body, predictor, options)
        elif (
            kind.startswith(("image/", "audio/"))
            or kind == "application/octet-stream"
            or (kind == "text/plain" and predictor.takes == "text")
        ):
            raw = [("bytes", body, "the body")]
        else:
            raise RequestError(415, f"content type {kind or '(none)'} is not accepted: {how_to_send(predictor)}")
    if not raw:
        raise RequestError(400, f"the request has no input: {how_to_send(predictor)}")
    if len(raw) > MAX_INPUTS:
        raise RequestError(413, f"{len(raw)} inputs in one request; at most {MAX_INPUTS}: split it.")
    return raw, checked_options(options, predictor)


async def form_inputs(request, predictor, options: dict) -> list:
    from starlette.datastructures import UploadFile

    try:
        form = await request.form(max_files=MAX_INPUTS, max_fields=MAX_INPUTS + len(OPTIONS))
    except Exception as err:  # starlette's MultiPartException (a malformed body, too many parts) ...
        detail = getattr(err, "detail", None) or getattr(err, "message", None) or str(err)
        raise RequestError(400, f"the multipart body could not be read: {detail}") from err
    raw = []
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            raw.append(("bytes", await value.read(), value.filename or key))
        elif key in OPTIONS:
            options[key] = value
        elif key in ("text", "input") and predictor.takes == "text":
            raw.append(("value", value, f"text {len(raw) + 1}"))
        else:
            raise RequestError(400, f"form field {key!r} is not an input: {how_to_send(predictor)}")
    return raw


def json_inputs(body: bytes, predictor, options: dict) -> list:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise RequestError(400, f"the body is not valid JSON ({err}).") from err
    if isinstance(data, dict) and ("input" in data or "inputs" in data):
        options.update({k: data[k] for k in OPTIONS if k in data})
        unknown = [k for k in data if k not in ("input", "inputs", *OPTIONS)]
        if unknown:
            raise RequestError(400, f"unknown key(s) {', '.join(unknown)}: {how_to_send(predictor)}")
        if "inputs" in data:
            if not isinstance(data["inputs"], list):
                raise RequestError(400, '"inputs" must be a list of inputs; use "input" for one.')
            values = data["inputs"]
        else:
            values = [data["input"]]
    elif predictor.takes == "table" and isinstance(data, dict):  # a bare row
        values = [data]
    elif isinstance(data, list):
        values = data
    else:
        raise RequestError(400, f"the JSON body has no input: {how_to_send(predictor)}")
    return [("value", value, f"input {i + 1}") for i, value in enumerate(values)]


def checked_options(options: dict, predictor) -> dict:
    """top_k in 1..classes, score_threshold in [0, 1]; other query parameters are refused."""
    checked = {}
    for key, value in options.items():
        if key not in OPTIONS:
            raise RequestError(400, f"unknown option {key!r}: the options are {', '.join(OPTIONS)}.")
        try:
            checked[key] = int(value) if key == "top_k" else float(value)
        except (TypeError, ValueError):
            raise RequestError(400, f"{key}={value!r} is not a number.") from None
    classes = predictor.info.num_outputs
    if "top_k" in checked and not 1 <= checked["top_k"] <= classes:
        raise RequestError(400, f"top_k={checked['top_k']}: give 1 to {classes} (the classes).")
    if "score_threshold" in checked and not 0 <= checked["score_threshold"] <= 1:
        raise RequestError(400, f"score_threshold={checked['score_threshold']}: give 0 to 1.")
    return checked


def how_to_send(predictor) -> str:
    return {
        "image": 'POST image files as multipart/form-data, a raw image/* body, or JSON {"inputs": [base64, ...]}.',
        "audio": 'POST audio files as multipart/form-data, a raw audio/* body, or JSON {"inputs": [base64, ...]}.',
        "text": 'POST JSON {"inputs": ["a text", ...]}, text/plain, or text files as multipart/form-data.',
        "table": 'POST a JSON object of features (a row), {"inputs": [row, ...]}, e.g. {"inputs": ['
        + predictor.example_row()
        + "]}.",
    }[predictor.takes]
