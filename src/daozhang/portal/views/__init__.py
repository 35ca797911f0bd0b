"""Portal pages, one module per area; every view is wrapped by `merchant_required`, which
takes the merchant from the logged-in user (never from the URL)."""
