//! The JSON API under `/api/v1`.

pub mod openapi;
pub mod reader;
pub mod tickets;
