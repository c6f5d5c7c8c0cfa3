//! Table tests of the CSTA → TAPI mapping.
