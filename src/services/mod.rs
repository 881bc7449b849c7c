//! Operations that change data, shared by the web handlers and the command line. Each one is
//! a single transaction that also writes its audit entry and its cache event.

pub mod account_mail;
pub mod accounts;
pub mod audit_chain;
pub mod desk_settings;
pub mod guide;
pub mod installer;
pub mod mail;
pub mod passcodes;
pub mod pc_credential;
pub mod readers;
pub mod search;
pub mod tickets;
pub mod totp;
