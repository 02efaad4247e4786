//! `keyloom`: the command-line front door to a Keyloom vault (the commands live in the library).

#![forbid(unsafe_code)]

fn main() {
    keyloom_cli::main_entry();
}
