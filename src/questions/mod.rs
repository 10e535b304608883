pub mod value; pub use value::{Facts, Value};
