"""`publisher serve`: the subscribe, confirm and unsubscribe endpoint (Starlette on uvicorn)."""
