//! SOAP envelope encoding and decoding.
