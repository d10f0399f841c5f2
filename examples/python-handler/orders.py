"""The logic both deployments share: price an order."""

PRICES = {"tea": 250, "scone": 320, "jam": 180}


def price(order):
    items = order.get("items", [])
    unknown = [item for item in items if item not in PRICES]
    if unknown:
        return 400, {"error": "unknown items", "items": unknown}
    return 200, {"items": items, "total_cents": sum(PRICES[item] for item in items)}
