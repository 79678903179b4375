# SPDX-License-Identifier: Apache-2.0
# A minimal single-file Django project: settings.configure() here, URL routing, a JSON view, a
# form POST and reverse() under the mount point.
import os

from django.conf import settings


class URLConf:
    """ROOT_URLCONF as an object (filled in below): the script need not be importable by name."""

    urlpatterns = []


if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="wsgid-integration-test-only",
        ROOT_URLCONF=URLConf,
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        USE_TZ=True,
    )

import django  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path, reverse  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

django.setup()


def index(request):
    return HttpResponse("Hello from Django")


def as_json(request):
    return JsonResponse({"framework": "django", "numbers": [1, 2, 3], "pid": os.getpid()})


def item(request, item_id):
    return JsonResponse({"item": item_id, "url": reverse("item", args=[item_id]),
                         "path": request.path, "path_info": request.path_info})


@csrf_exempt
def form(request):
    if request.method != "POST":
        return HttpResponse(status=405)
    return JsonResponse({"fields": {k: request.POST.getlist(k) for k in request.POST},
                         "method": request.method})


URLConf.urlpatterns = [
    path("", index),
    path("json", as_json),
    path("items/<int:item_id>", item, name="item"),
    path("form", form),
]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
