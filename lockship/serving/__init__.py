"""The HTTP serving app for one model directory (FastAPI + uvicorn); `lockship serve` runs it."""
