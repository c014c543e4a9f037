"""Dynamic batching: the inputs of concurrent requests wait in one queue; a batch is the inputs
already waiting plus those that arrive within `timeout_s` of the first, up to `max_size`; the
model runs it on one thread of its own (the event loop keeps taking requests meanwhile, so the
next batch gathers while this one runs). max_size=1: each input alone, in arrival order."""

import asyncio
from concurrent.futures import ThreadPoolExecutor


class Batcher:
    def __init__(self, predict, max_size: int, timeout_s: float):
        self.predict, self.max_size, self.timeout_s = predict, max_size, timeout_s
        self.queue: asyncio.Queue = asyncio.Queue()
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="dlrun-model")
        self.batches = self.inputs = 0  # /health's counts
        self.task = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.executor.shutdown(wait=True)

    async def submit(self, items: list) -> list:
        """The answers to `items` (one request's inputs); they may share batches with others'."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in items]
        for item, future in zip(items, futures):
            self.queue.put_nowait((item, future))
        return await asyncio.gather(*futures)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self.queue.get()]
            deadline = loop.time() + self.timeout_s
            while len(batch) < self.max_size:
                if not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            batch = [(item, future) for item, future in batch if not future.done()]  # a client gone: skip
            if not batch:
                continue
            try:
                await self.answer(batch)
            except Exception as err:  # the model failed on the batch: each input alone, so only the bad one fails
                for item, future in batch if len(batch) > 1 else ():
                    try:
                        await self.answer([(item, future)])
                    except Exception as alone:
                        future.done() or future.set_exception(ModelError(alone))
                if len(batch) == 1:
                    batch[0][1].done() or batch[0][1].set_exception(ModelError(err))

    async def answer(self, batch: list) -> None:
        loop = asyncio.get_running_loop()
        answers = await loop.run_in_executor(self.executor, self.predict, [item for item, _ in batch])
        self.batches += 1
        self.inputs += len(batch)
        for (_, future), answer in zip(batch, answers):
            if not future.done():
                future.set_result(answer)


class ModelError(Exception):
    """The model (or reading its outputs) failed on a batch: a 500 with this message."""

    def __init__(self, cause: Exception):
        from dlrun.errors import first_line

        super().__init__(f"the model failed on this input: {type(cause).__name__}: {first_line(cause)}")
        self.cause = cause
