//! distlab: learn distributed systems by breaking them.
//!
//! The data flows one way: a lab file is loaded and validated into a
//! [`lab::Lab`]; with a seed, overrides and injected faults it becomes a
//! scenario that the engine ([`sim`]) runs; questions ([`questions`]) are
//! answered from the run; [`render`] prints it and [`grade`] scores answers.

pub mod cli;
pub mod grade;
pub mod lab;
pub mod models;
pub mod output;
pub mod questions;
pub mod render;
pub mod sim;
