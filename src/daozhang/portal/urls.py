from django.urls import path

from daozhang.portal.views import account, dashboard, enquiry, payments, settlements

app_name = "portal"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("payments/", payments.payment_list, name="payments"),
    path("payments/export.csv", payments.payment_export, name="payments_export"),
    path("payments/<uuid:payment_id>/", payments.payment_detail, name="payment"),
    path("settlements/", settlements.batch_list, name="settlements"),
    path("settlements/<uuid:batch_id>/", settlements.batch_detail, name="settlement"),
    path("settlements/<uuid:batch_id>/statement.<str:fmt>", settlements.statement, name="statement"),
    path("enquiry/", enquiry.enquiry, name="enquiry"),
    path("enquiry/<str:token>/", enquiry.enquiry_answer, name="enquiry_answer"),
    path("me/", account.me, name="me"),
    path("me/profile/", account.profile, name="profile"),
    path("me/settlement-account/", account.settlement_account, name="settlement_account"),
    path("me/settlement-account/change/", account.settlement_account_change, name="settlement_account_change"),
    path("me/settlement-account/confirm/", account.settlement_account_confirm, name="settlement_account_confirm"),
    path("me/api-keys/", account.api_keys, name="api_keys"),
    path("me/api-keys/<uuid:key_id>/revoke/", account.api_key_revoke, name="api_key_revoke"),
    path("me/password/", account.password, name="password"),
]
