"""The Experience Dashboard: a single-page web app (plain HTML, CSS and ES modules, no build
step) served by the API at ``/`` and ``/ui``. Its files hold no data: every figure it shows
comes from the API with the operator's bearer token."""
