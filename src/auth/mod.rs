//! Authentication: password and passcode hashing, device tokens, the signed-in user, CSRF
//! tokens and sign-in throttling.

pub mod client_ip;
pub mod device_token;
pub mod hashing;
pub mod pepper;
pub mod session;
pub mod session_store;
pub mod throttle;

pub use hashing::Hasher;
pub use session::{Ctx, SignedIn};
