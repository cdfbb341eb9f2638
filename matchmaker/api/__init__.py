"""The JSON API (/api/v1/): personal tokens, schemas and endpoints, with an OpenAPI description generated from them."""
