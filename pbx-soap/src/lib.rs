//! innovaphone PBX SOAP API.
