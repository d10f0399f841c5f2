"""The Lambda side: a handler for Python's official runtime interface client (awslambdaric),
invoked through the Invoke API with the order as its event."""

from orders import price


def handler(event, context):
    status, body = price(event)
    if status != 200:
        raise ValueError(body["error"])
    return body
