//! Escape services (ECMA-323 clause 5.7): vendor-specific requests, here the gateway's own
//! operations.

use crate::types::{Extensions, PrivateData};

body! {
    /// `Escape`: a vendor-specific request; its content is the private data.
    pub struct Escape {
        /// `escapeRegisterID`.
        pub escape_register_id: Option<String> = "escapeRegisterID",
        /// `privateData`: the request itself.
        pub private_data: PrivateData = "privateData",
        /// Private data.
        pub extensions: Option<Extensions> = "extensions",
    }
}

empty_body! {
    /// `EscapeResponse`: the private answer travels in `extensions`.
    EscapeResponse;
}
