//! Two-factor sign-in over GraphQL: a user sets up, confirms and removes their own factor; a
//! ClinicAdmin sets the clinic's policy and resets a user's lost factor (`mfa` has the rules).

use async_graphql::{Context, Object, SimpleObject};
use uuid::Uuid;

use crate::foundation::error::ApiError;
use crate::foundation::session::session;
use crate::identity::graphql::{SessionPayload, login_service, origin};
use crate::identity::mfa::{self, MfaPolicy};

/// The signed-in user's second factor.
#[derive(SimpleObject)]
pub struct MfaStatus {
    /// A confirmed factor: every sign-in needs one of its codes.
    pub enabled: bool,
    /// A set-up begun and not yet confirmed (it changes nothing at sign-in).
    pub pending: bool,
    /// Unused recovery codes of the confirmed factor.
    pub recovery_codes_left: i32,
    /// The clinic's policy.
    pub policy: MfaPolicy,
    /// Whether the policy requires a factor of the user's role.
    pub required: bool,
}

/// A new secret for the user's authenticator app, from `beginMfaEnrollment`.
#[derive(SimpleObject)]
pub struct MfaEnrollment {
    /// The secret in base32 (RFC 4648), for typing into the app by hand. Shown only here.
    pub secret: String,
    /// `otpauth://totp/...`: show it as a QR code for the app to scan.
    pub otpauth_uri: String,
}

/// A confirmed factor, from `confirmMfaEnrollment`.
#[derive(SimpleObject)]
pub struct MfaConfirmation {
    /// Ten one-time codes for signing in without the app: shown only here, so the user must
    /// keep them somewhere safe. Each works once, in `login`'s `mfaCode`.
    pub recovery_codes: Vec<String>,
    /// The new session (every other session of the user has ended).
    pub session: SessionPayload,
}

#[derive(Default)]
pub struct MfaQuery;

#[Object]
impl MfaQuery {
    /// The signed-in user's second factor and the clinic's policy. Any signed-in user; FORBIDDEN
    /// for an API key.
    async fn mfa_status(&self, ctx: &Context<'_>) -> Result<MfaStatus, ApiError> {
        let session = session(ctx)?;
        let status = mfa::status(session.db(), &session.principal).await?;
        Ok(MfaStatus {
            enabled: status.enabled,
            pending: status.pending,
            recovery_codes_left: i32::try_from(status.recovery_codes_left).unwrap_or(i32::MAX),
            policy: status.policy,
            required: status.required,
        })
    }
}

#[derive(Default)]
pub struct MfaMutation;

#[Object]
impl MfaMutation {
    /// Starts setting up two-factor sign-in for the signed-in user: a new secret for their
    /// authenticator app (any pending one is replaced), which counts once confirmed with
    /// `confirmMfaEnrollment`. Needs the current password (a wrong one counts as a failed
    /// sign-in). CONFLICT when a factor is already confirmed. Any signed-in user.
    async fn begin_mfa_enrollment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password the user signs in with now.")] current_password: String,
    ) -> Result<MfaEnrollment, ApiError> {
        let session = session(ctx)?;
        let pending = mfa::begin_enrollment(
            session.db(),
            &session.principal,
            login_service(ctx)?,
            &current_password,
            origin(ctx),
        )
        .await?;
        Ok(MfaEnrollment {
            secret: pending.secret,
            otpauth_uri: pending.otpauth_uri,
        })
    }

    /// Confirms the pending set-up with the code the app shows now (a wrong one counts as a
    /// failed sign-in): from now on every sign-in needs a code. Every session of the user ends,
    /// this one too; the answer holds the new session and the recovery codes. Any signed-in
    /// user, also while `mfaEnrollmentRequired`.
    async fn confirm_mfa_enrollment(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The 6-digit code the authenticator app shows now.")] code: String,
    ) -> Result<MfaConfirmation, ApiError> {
        let session = session(ctx)?;
        let confirmed = mfa::confirm_enrollment(
            session.db(),
            &session.principal,
            login_service(ctx)?,
            &code,
            origin(ctx),
        )
        .await?;
        Ok(MfaConfirmation {
            recovery_codes: confirmed.recovery_codes,
            session: confirmed.session.into(),
        })
    }

    /// Turns two-factor sign-in off for the signed-in user, given the current password and a
    /// code (from the app or a recovery code). Every session of the user ends: they sign in
    /// again (if the clinic requires a factor, to set up a new one). False when none was set up.
    /// Any signed-in user.
    async fn remove_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The password the user signs in with now.")] current_password: String,
        #[graphql(desc = "A code from the authenticator app, or an unused recovery code.")]
        code: String,
    ) -> Result<bool, ApiError> {
        let session = session(ctx)?;
        mfa::remove(
            session.db(),
            &session.principal,
            login_service(ctx)?,
            (&current_password, &code),
            origin(ctx),
        )
        .await
    }

    /// Removes the second factor of the clinic's user `userId` (who lost their phone and their
    /// recovery codes); their sessions end and they sign in with their password alone, or, where
    /// the clinic requires a factor, to set up a new one. Audited. False when they had none.
    /// ClinicAdmin only.
    async fn reset_user_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user's id.")] user_id: Uuid,
    ) -> Result<bool, ApiError> {
        let session = session(ctx)?;
        mfa::reset(session.db(), &session.principal, user_id, origin(ctx)).await
    }

    /// Sets whose accounts in the clinic must sign in with a second factor. Those it newly
    /// covers who have none may, at their next sign-in, only set one up. Audited. ClinicAdmin
    /// only.
    async fn set_mfa_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Who must have a second factor.")] required_for: MfaPolicy,
    ) -> Result<MfaPolicy, ApiError> {
        let session = session(ctx)?;
        mfa::set_policy(session.db(), &session.principal, required_for, origin(ctx)).await
    }
}
