# SPDX-License-Identifier: Apache-2.0
# Benchmark app "django": one Django view returning a small JSON document (Debian's
# python3-django), configured in this file: no project, no database, Django's default (empty)
# middleware list. The URLconf is a module registered under a fixed name because a WSGI script
# file is not importable by name.

import sys
import types

import django
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

URLCONF_NAME = "wsgid_bench_django_urls"


def index(request):
    return JsonResponse({"message": "Hello, World!"})


if not settings.configured:
    urlconf = types.ModuleType(URLCONF_NAME)
    urlconf.urlpatterns = [path("", index)]
    sys.modules[URLCONF_NAME] = urlconf
    settings.configure(
        DEBUG=False,
        SECRET_KEY="wsgid-bench-not-secret",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=URLCONF_NAME,
        INSTALLED_APPS=[],
        USE_TZ=True,
    )
    django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402  (needs settings first)

application = get_wsgi_application()
