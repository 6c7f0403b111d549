from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "vroeg: huurincasso en vroegsignalering"
admin.site.site_title = "vroeg"
admin.site.index_title = "Werkruimte / Workspace"
# Wide lists (balance, case stage) matter more than the side menu; the index has all links.
admin.site.enable_nav_sidebar = False

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("admin/", admin.site.urls),
    path("", include("vroeg.payments.urls")),
    # Delivery reports and tenants' messages from the SMS/WhatsApp providers.
    path("webhooks/", include("vroeg.messaging.webhooks")),
]
