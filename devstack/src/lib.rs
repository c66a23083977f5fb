//! Placeholder: filled in by the dev-stack work.
