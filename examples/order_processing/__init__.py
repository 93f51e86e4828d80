"""Order processing: a multi-activity workflow with retries, an approval signal and compensation.

Run ``python -m examples.order_processing --help`` (or ``examples/order_processing/run.sh``).
"""
