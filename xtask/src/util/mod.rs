//! The ground floor: helpers every other module stands on. Nothing here knows about
//! recipes, targets or sysroots.

pub mod archive;
pub mod elf;
pub mod elf_section;
pub mod fault;
pub mod fs;
pub mod hash;
pub mod process;
pub mod progress;
pub mod shell;
pub mod sign;
pub mod store;
pub mod template;
#[cfg(test)]
pub(crate) mod testing;
pub mod wasm;
