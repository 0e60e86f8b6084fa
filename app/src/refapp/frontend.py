"""refapp-frontend: serves the status page (static files of this release) on
REFAPP_FRONTEND_PORT. The page reads the backend's health contract itself; /config.json
tells it where the API is (REFAPP_FRONTEND_API_URL, else the same origin, as behind nginx)."""

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from refapp import contract, release
from refapp.contract import answer


def create_app(settings):
    async def health(request):
        return answer(dict(version=release.version()))

    async def page_config(request):
        return answer(dict(apiUrl=settings.frontend_api_url, version=release.version(),
                           environment=settings.environment))

    return Starlette(routes=[
        Route('/health', health),
        Route('/config.json', page_config),
        Mount('/', StaticFiles(directory=str(release.frontend_dir()), html=True)),
    ])


def main():
    settings = contract.settings_or_exit('refapp-frontend')
    uvicorn.run(create_app(settings), host=settings.frontend_bind, port=settings.frontend_port,
                access_log=False, log_level='info')
