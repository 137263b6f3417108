//! Re-exports every entity under its conventional `Directus*` name.

pub use crate::directus_activity::Entity as DirectusActivity;
pub use crate::directus_flows::Entity as DirectusFlows;
pub use crate::directus_folders::Entity as DirectusFolders;
pub use crate::directus_notifications::Entity as DirectusNotifications;
pub use crate::directus_operations::Entity as DirectusOperations;
pub use crate::directus_revisions::Entity as DirectusRevisions;
pub use crate::directus_roles::Entity as DirectusRoles;
pub use crate::directus_users::Entity as DirectusUsers;
pub use crate::flowline_run_steps::Entity as FlowlineRunSteps;
pub use crate::flowline_runs::Entity as FlowlineRuns;
pub use crate::flowline_schedule_ticks::Entity as FlowlineScheduleTicks;
