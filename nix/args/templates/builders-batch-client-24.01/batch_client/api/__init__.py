from ._client_1 import (
    new_client,
)
from ._core import (
    ApiClient,
)

__all__ = [
    "ApiClient",
    "new_client",
]
