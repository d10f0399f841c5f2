// The Lambda side: a handler for Node's official runtime interface client (aws-lambda-ric),
// invoked through the Invoke API with the order as its event.
const { price } = require("./orders");

exports.handler = async (event) => {
  const [status, body] = price(event);
  if (status !== 200) {
    throw new Error(body.error);
  }
  return body;
};
