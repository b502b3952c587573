"""What profile's endpoints get from this process, typed: the one place they read
``request.app.state`` from.

Endpoints take ``uow: UoW`` and ``messaging: Requests`` as FastAPI dependencies. The
``LeanRead`` hot reads solve no dependencies (docs/adr/013-lean-hot-reads.md), so they call
``read_pool`` and ``hobby_catalog`` themselves.
"""

from typing import Annotated

from fastapi import Depends, Request
from psycopg_pool import AsyncConnectionPool

from profile_service.api.catalog import HobbyCatalog
from profile_service.unit_of_work import ProfileUnitOfWork
from unimatch_shared.rpc import Requester
from unimatch_shared.runtime import from_runtime, unit_of_work


def read_pool(request: Request) -> AsyncConnectionPool:
    reads: AsyncConnectionPool = request.app.state.runtime.reads
    return reads


def hobby_catalog(request: Request) -> HobbyCatalog:
    catalog: HobbyCatalog = request.app.state.hobby_catalog
    return catalog


UoW = Annotated[ProfileUnitOfWork, Depends(unit_of_work)]
Requests = Annotated[Requester, Depends(from_runtime("messaging"))]
