from django.urls import path

from daozhang.console.views import access, alerts, audit, cases, deliveries, home, merchants, payouts, risk, terminals

app_name = "console"
urlpatterns = [
    path("", home.home, name="home"),
    path("merchants/", merchants.merchant_list, name="merchants"),
    path("merchants/new/", merchants.merchant_new, name="merchant_new"),
    path("merchants/<uuid:merchant_id>/", merchants.merchant_detail, name="merchant"),
    path("merchants/<uuid:merchant_id>/status/", merchants.merchant_status, name="merchant_status"),
    path("merchants/<uuid:merchant_id>/holds/new/", risk.hold_new, name="hold_new"),
    path("merchants/<uuid:merchant_id>/adjustments/new/", risk.adjustment_new, name="adjustment_new"),
    path("holds/<uuid:hold_id>/release/", risk.hold_release, name="hold_release"),
    path("terminals/", terminals.terminal_list, name="terminals"),
    path("terminals/new/", terminals.terminal_new, name="terminal_new"),
    path("terminals/<uuid:terminal_pk>/bind/", terminals.terminal_bind, name="terminal_bind"),
    path("terminals/<uuid:terminal_pk>/status/", terminals.terminal_status, name="terminal_status"),
    path("payouts/", payouts.payout_list, name="payouts"),
    path("payouts/<uuid:batch_id>/repay/", payouts.batch_repay, name="batch_repay"),
    path("payouts/<uuid:batch_id>/hold/", payouts.batch_hold, name="batch_hold"),
    path("alerts/", alerts.alert_list, name="alerts"),
    path("alerts/<int:alert_id>/resolve/", alerts.alert_resolve, name="alert_resolve"),
    path("cases/", cases.case_list, name="cases"),
    path("cases/<uuid:case_id>/", cases.case_detail, name="case"),
    path("cases/<uuid:case_id>/note/", cases.case_note, name="case_note"),
    path("cases/<uuid:case_id>/status/", cases.case_status, name="case_status"),
    path("audit/", audit.audit_log, name="audit"),
    path("tokens/", access.token_list, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", access.token_revoke, name="token_revoke"),
    path("merchants/<uuid:merchant_id>/users/<int:user_id>/two-factor-reset/", access.two_factor_reset,
         name="two_factor_reset"),
    path("deliveries/", deliveries.delivery_list, name="deliveries"),
    path("deliveries/<uuid:delivery_id>/retry/", deliveries.delivery_retry, name="delivery_retry"),
]
