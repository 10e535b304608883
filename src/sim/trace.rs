//! The trace: every event of a run, in the order the engine applied it.

use super::network::{Fate, NodeId};
use super::time::Time;

pub type MsgId = u64;
pub type TimerId = u64;

/// A piece of text in a trace line. A secret piece is an outcome the student is
/// asked to work out: question mode prints it as `?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seg {
    pub text: String,
    pub secret: bool,
}

pub type Label = Vec<Seg>;

pub fn shown(text: impl Into<String>) -> Seg {
    Seg { text: text.into(), secret: false }
}

pub fn secret(text: impl Into<String>) -> Seg {
    Seg { text: text.into(), secret: true }
}

/// The plain text of a label, secrets included.
pub fn plain(label: &Label) -> String {
    label.iter().map(|s| s.text.as_str()).collect()
}

#[derive(Clone, Debug)]
pub enum Event<Msg> {
    /// `level` is the detail level that shows this message (0: always).
    Send {
        from: NodeId,
        to: NodeId,
        id: MsgId,
        level: u8,
        msg: Msg,
        fate: Fate,
    },
    /// `copy` is 0 for the original and 1 for a duplicate made by the network.
    Deliver {
        from: NodeId,
        to: NodeId,
        id: MsgId,
        copy: u8,
        level: u8,
        msg: Msg,
    },
    /// A message that reached a node that was down.
    DropAtDown {
        from: NodeId,
        to: NodeId,
        id: MsgId,
        copy: u8,
        level: u8,
        msg: Msg,
    },
    Timer {
        node: NodeId,
        id: TimerId,
        level: u8,
        label: Label,
    },
    Crash {
        node: NodeId,
    },
    Restart {
        node: NodeId,
    },
    /// A partition window opening (`begin`) or closing.
    Partition {
        index: usize,
        begin: bool,
    },
    /// A client operation starting at a node.
    Call {
        node: NodeId,
        label: Label,
    },
    /// A client operation returning to its caller.
    Return {
        node: NodeId,
        label: Label,
    },
    /// A line the model wants shown: a decision, a state change. Higher levels
    /// appear only with a higher `--detail`.
    Note {
        node: NodeId,
        level: u8,
        outcome: bool,
        label: Label,
    },
}

#[derive(Clone, Debug)]
pub struct Entry<Msg> {
    pub time: Time,
    pub event: Event<Msg>,
}
