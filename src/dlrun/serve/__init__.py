"""`dlrun serve RUN`: a run's best checkpoint behind an HTTP JSON API with dynamic batching, and a
page to try it (FastAPI on uvicorn: the `serve` extra).

  predictor.py   a saved run's preprocessing, model and readable answers (as `dlrun predict`)
  requests.py    a /predict request's body as inputs, and its errors
  batching.py    concurrent requests' inputs batched for the model
  app.py         the routes, error answers, the upload limit
  page.html      the page at /
"""
