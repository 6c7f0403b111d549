from django.contrib import admin
from django.urls import path

admin.site.site_header = "vroeg: huurincasso en vroegsignalering"
admin.site.site_title = "vroeg"
admin.site.index_title = "Werkruimte / Workspace"

urlpatterns = [
    path("admin/", admin.site.urls),
]
