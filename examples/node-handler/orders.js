// The logic both deployments share: price an order.
const PRICES = { tea: 250, scone: 320, jam: 180 };

function price(order) {
  const items = (order && order.items) || [];
  const unknown = items.filter((item) => !(item in PRICES));
  if (unknown.length > 0) {
    return [400, { error: "unknown items", items: unknown }];
  }
  return [200, { items, total_cents: items.reduce((sum, item) => sum + PRICES[item], 0) }];
}

module.exports = { price };
