"""Console pages, one module per queue or area.

Every view is wrapped by `staff_required(...)` with the permission its action needs (the
same permission the staff API checks for it), and every change goes through one domain
service, which writes the audit record in the change's own transaction. Forms post, then
redirect with a flash message (POST-redirect-GET), so a reload never repeats an action.
"""
