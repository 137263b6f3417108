//! Identifiers of the tables and columns the migrations create.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
pub(crate) enum DirectusRoles {
    Table,
    Id,
    Name,
    Icon,
    Description,
    AdminAccess,
    AppAccess,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusUsers {
    Table,
    Id,
    FirstName,
    LastName,
    Email,
    Password,
    Status,
    Role,
    Token,
    LastAccess,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusFolders {
    Table,
    Id,
    Name,
    Parent,
    Type,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusFlows {
    Table,
    Id,
    Name,
    Icon,
    Color,
    Description,
    Status,
    Trigger,
    Accountability,
    Options,
    Operation,
    DateCreated,
    UserCreated,
    Folder,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusOperations {
    Table,
    Id,
    Name,
    Key,
    Type,
    PositionX,
    PositionY,
    Options,
    Resolve,
    Reject,
    Flow,
    DateCreated,
    UserCreated,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusActivity {
    Table,
    Id,
    Action,
    User,
    Timestamp,
    Ip,
    UserAgent,
    Collection,
    Item,
    Origin,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusRevisions {
    Table,
    Id,
    Activity,
    Collection,
    Item,
    Data,
    Delta,
    Parent,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusNotifications {
    Table,
    Id,
    Timestamp,
    Status,
    Recipient,
    Sender,
    Subject,
    Message,
    Collection,
    Item,
}

#[derive(DeriveIden)]
pub(crate) enum DirectusPermissions {
    Table,
    Id,
    Role,
    Collection,
    Action,
    Permissions,
    Fields,
}
