//! The cti-gateway daemon library.
