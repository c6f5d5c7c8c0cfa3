//! End-to-end test harness and benchmark driver of cti-gateway.
