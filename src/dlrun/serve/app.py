"""The HTTP app of `dlrun serve` (FastAPI on uvicorn):

  POST /predict    the run's inputs (dlrun.serve.requests) -> {"run", "predictions": [...]}
  GET  /health     status and counts (requests, inputs, batches)
  GET  /metadata   the run's model card (export's model.json)
  GET  /           a page to try it (page.html)
  GET  /docs       OpenAPI docs

Every error is JSON {"error": message} with a 4xx (the request) or 500 (the model), logged as
one line; a 500's traceback goes to RUN/serve-errors.log, never into the body or the console.
"""

import logging
import time
import traceback
from contextlib import asynccontextmanager
from pathlib import Path

from dlrun.serve.batching import Batcher, ModelError
from dlrun.serve.requests import RequestError, read_inputs
from dlrun.serve.requests import __doc__ as requests_doc

log = logging.getLogger("uvicorn.error")
ROUTES = "The routes: POST /predict, GET /health, GET /metadata, GET / (a page), GET /docs."


def create_app(predictor, max_batch_size: int, batch_timeout_ms: float, max_upload_mb: float):
    from fastapi import FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse
    from starlette.exceptions import HTTPException

    from dlrun.errors import DlrunError
    from dlrun.runs.model_card import model_card

    batcher = Batcher(predictor, max_batch_size, batch_timeout_ms / 1000)
    card = model_card(predictor.run)
    name = card["run"]
    counts = {"requests": 0, "errors": 0}

    @asynccontextmanager
    async def lifespan(app):
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(
        title=f"dlrun serve: {name}",
        description=f"{card['task']} with {card['model']} ({card_metrics(card)})",
        version=card["versions"]["dlrun"],
        lifespan=lifespan,
    )
    app.add_middleware(UploadLimit, max_bytes=int(max_upload_mb * 2**20))

    def error(status: int, message: str, request) -> JSONResponse:
        counts["errors"] += 1
        log.warning("%s %s %s: %s", status, request.method, request.url.path, message)
        return JSONResponse({"error": message}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):  # 404, 405 ... in the same shape as dlrun's own
        message = str(exc.detail)
        if exc.status_code in (404, 405):
            message = f"{message}: {request.method} {request.url.path}. {ROUTES}"
        return error(exc.status_code, message, request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        return error(422, "; ".join(str(e.get("msg")) for e in exc.errors()), request)

    @app.post(
        "/predict",
        summary="Predict on one or more inputs",
        description=requests_doc.strip(),
        openapi_extra={"requestBody": request_body_doc(predictor)},
    )
    async def predict(request: Request):
        counts["requests"] += 1
        try:
            raw, options = await read_inputs(request, predictor)
            items = await run_in_threadpool(preprocess, predictor, raw, options)
            answers = await batcher.submit(items)
        except RequestError as err:
            return error(err.status, str(err), request)
        except DlrunError as err:  # an input the run's preprocessing refuses
            return error(400, str(err), request)
        except ModelError as err:
            keep_traceback(predictor.run.path, err.cause)
            return error(500, str(err), request)
        except Exception as err:
            keep_traceback(predictor.run.path, err)
            return error(500, f"unexpected error: {type(err).__name__}: {err}", request)
        return {"run": name, "predictions": answers}

    @app.get("/health", summary="Whether the server is up, and its counts")
    async def health():
        return {
            "status": "ok",
            "run": name,
            "device": str(predictor.device),
            **counts,
            "inputs": batcher.inputs,
            "batches": batcher.batches,
            "max_batch_size": max_batch_size,
        }

    @app.get("/metadata", summary="The run's model card: task, classes, input preprocessing, metrics, versions")
    async def metadata():
        return card

    page = (Path(__file__).parent / "page.html").read_text()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index():
        return page

    return app


def preprocess(predictor, raw: list, options: dict) -> list:
    """Each raw input through the run's evaluation preprocessing (in a worker thread)."""
    return [
        predictor.from_bytes(value, name, options) if how == "bytes" else predictor.from_value(value, name, options)
        for how, value, name in raw
    ]


def card_metrics(card: dict) -> str:
    metrics = {k: v for k, v in card["checkpoint"]["metrics"].items() if k != "epoch"}
    return ", ".join(f"{k} {v:.4g}" for k, v in list(metrics.items())[:4] if isinstance(v, (int, float)))


def keep_traceback(run_path, err: BaseException) -> None:
    """A 500's traceback, appended to RUN/serve-errors.log (a read-only run folder: skipped)."""
    try:
        with open(Path(run_path) / "serve-errors.log", "a") as f:
            f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
            f.write("".join(traceback.format_exception(err)))
    except OSError:
        pass


def request_body_doc(predictor) -> dict:
    """OpenAPI's description of what /predict takes, for this run."""
    value = {
        "image": {"type": "string", "format": "base64"},
        "audio": {"type": "string", "format": "base64"},
        "text": {"type": "string"},
        "table": {"type": "object", "additionalProperties": {"type": "number"}},
    }[predictor.takes]
    content = {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {
                    "inputs": {"type": "array", "items": value},
                    "input": value,
                    "top_k": {"type": "integer"},
                    "score_threshold": {"type": "number"},
                },
            }
        }
    }
    if predictor.takes != "table":
        content["multipart/form-data"] = {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        }
    return {"required": True, "content": content}


class UploadLimit:
    """ASGI middleware: a request body over `max_bytes` gets a 413 (read and dropped, so the client
    reads the answer rather than a reset connection; never held in memory)."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self.refuse(scope, receive, send, int(length))
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except TooLarge:  # a body without content-length (chunked) passing the limit
            await self.refuse(scope, receive, send, seen)

    async def refuse(self, scope, receive, send, size: int):
        import json

        more = True
        while more:  # drain the body (the client is still sending it)
            message = await receive()
            more = message.get("more_body", False) and message["type"] == "http.request"
        mb = self.max_bytes / 2**20
        message = f"the upload is {size / 2**20:.1f} MB or more; this server takes at most {mb:g} MB (--max-upload-mb)."
        log.warning("413 %s %s: %s", scope["method"], scope["path"], message)
        body = json.dumps({"error": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class TooLarge(BaseException):
    """Not an Exception: it passes the app's own handlers up to UploadLimit."""
