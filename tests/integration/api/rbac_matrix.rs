//! Role-based access, cell by cell: every role × every operation of the API core is either
//! allowed (answers without errors) or FORBIDDEN — and a forbidden request writes nothing, not
//! even an audit row — over every transport the operation may take (POST, GET, a persisted
//! query by hash, the WebSocket), and `node` answers each role as the type's own field does.

use hpms::foundation::role::Role;
use hpms::identity::bootstrap;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ApiClinic, TestApp, Transport};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Me,
    Users,
    CreateUser,
    UpdateUser,
    DeactivateUser,
    AuditLogs,
    Tenants,
    CreateTenant,
    SetTenantActive,
    Patient,
    Patients,
    CreatePatient,
    CreatePatientWithContact,
    CreatePatientWithMedical,
    UpdatePatientDemographics,
    UpdatePatientContact,
    UpdatePatientMedical,
    DeletePatient,
    ReadContact,
    ReadMedical,
    AppointmentTypes,
    Providers,
    CreateAppointmentType,
    UpdateAppointmentType,
    DeleteAppointmentType,
    SetWorkingHours,
    Appointment,
    Appointments,
    AvailableSlots,
    BookAppointment,
    BookOutsideHours,
    Reschedule,
    Cancel,
    MarkArrived,
    StartVisit,
    Invoice,
    Invoices,
    ReceivablesAging,
    RecordPayment,
    RefundPayment,
    WriteOffInvoice,
    VoidInvoice,
    ApiKeys,
    IssueApiKey,
    RevokeApiKey,
    AppointmentEvents,
    AppointmentPatient,
    AppointmentPatientContact,
    AppointmentPatientMedical,
    PatientDateOfBirth,
    IssueApiKeyWithReadScopes,
    AuditLogsOfAKey,
    // Issue 17: the clinic's week.
    TimeOffList,
    AddTimeOff,
    AddClinicClosure,
    RemoveTimeOff,
    RemoveClinicClosure,
    SetProviderDayHours,
    CancelAppointments,
    BookSeries,
    BookOverTimeOff,
    BookBackdated,
    CancelSeriesFrom,
    RescheduleSeriesFrom,
    ResetClinicAdmin,
    ReadMedicalOutsideCare,
    PatientHistory,
    BreakGlass,
    BreakGlassEvents,
    AssignCareProvider,
    UnassignCareProvider,
    PatientAccessReport,
    // Issue 20: two-factor sign-in.
    MfaStatus,
    BeginMfaEnrollment,
    SetMfaPolicy,
    ResetUserMfa,
    // Issue 17 item 3: cancellation reasons and fees.
    CancellationReasons,
    AddCancellationReason,
    RetireCancellationReason,
    CancellationPolicies,
    SetCancellationPolicy,
    CancellationReport,
    CancelWithReason,
    // Issue 17, item 5: the waitlist.
    Waitlist,
    AddToWaitlist,
    RemoveFromWaitlist,
    WaitlistMatches,
    BookFromWaitlist,
    // Issue 17, item 4: rooms.
    Rooms,
    CreateRoom,
    UpdateRoom,
    RemoveRoom,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Allowed,
    Forbidden,
}
use Expect::{Allowed, Forbidden};
use Op::*;
use Role::{BillingManager, ClinicAdmin, FrontDesk, Provider, SystemAdmin};

/// DESIGN.md's RBAC paragraph, one row per cell.
const MATRIX: &[(Op, Role, Expect)] = &[
    (Me, SystemAdmin, Allowed),
    (Me, ClinicAdmin, Allowed),
    (Me, Provider, Allowed),
    (Me, BillingManager, Allowed),
    (Me, FrontDesk, Allowed),
    (Users, SystemAdmin, Forbidden),
    (Users, ClinicAdmin, Allowed),
    (Users, Provider, Forbidden),
    (Users, BillingManager, Forbidden),
    (Users, FrontDesk, Forbidden),
    (CreateUser, SystemAdmin, Forbidden),
    (CreateUser, ClinicAdmin, Allowed),
    (CreateUser, Provider, Forbidden),
    (CreateUser, BillingManager, Forbidden),
    (CreateUser, FrontDesk, Forbidden),
    (UpdateUser, SystemAdmin, Forbidden),
    (UpdateUser, ClinicAdmin, Allowed),
    (UpdateUser, Provider, Forbidden),
    (UpdateUser, BillingManager, Forbidden),
    (UpdateUser, FrontDesk, Forbidden),
    (DeactivateUser, SystemAdmin, Forbidden),
    (DeactivateUser, ClinicAdmin, Allowed),
    (DeactivateUser, Provider, Forbidden),
    (DeactivateUser, BillingManager, Forbidden),
    (DeactivateUser, FrontDesk, Forbidden),
    (AuditLogs, SystemAdmin, Forbidden),
    (AuditLogs, ClinicAdmin, Allowed),
    (AuditLogs, Provider, Forbidden),
    (AuditLogs, BillingManager, Forbidden),
    (AuditLogs, FrontDesk, Forbidden),
    (Tenants, SystemAdmin, Allowed),
    (Tenants, ClinicAdmin, Forbidden),
    (Tenants, Provider, Forbidden),
    (Tenants, BillingManager, Forbidden),
    (Tenants, FrontDesk, Forbidden),
    (CreateTenant, SystemAdmin, Allowed),
    (CreateTenant, ClinicAdmin, Forbidden),
    (CreateTenant, Provider, Forbidden),
    (CreateTenant, BillingManager, Forbidden),
    (CreateTenant, FrontDesk, Forbidden),
    (SetTenantActive, SystemAdmin, Allowed),
    (SetTenantActive, ClinicAdmin, Forbidden),
    (SetTenantActive, Provider, Forbidden),
    (SetTenantActive, BillingManager, Forbidden),
    (SetTenantActive, FrontDesk, Forbidden),
    (Patient, SystemAdmin, Forbidden),
    (Patient, ClinicAdmin, Allowed),
    (Patient, Provider, Allowed),
    (Patient, BillingManager, Allowed),
    (Patient, FrontDesk, Allowed),
    (Patients, SystemAdmin, Forbidden),
    (Patients, ClinicAdmin, Allowed),
    (Patients, Provider, Allowed),
    (Patients, BillingManager, Allowed),
    (Patients, FrontDesk, Allowed),
    (CreatePatient, SystemAdmin, Forbidden),
    (CreatePatient, ClinicAdmin, Allowed),
    (CreatePatient, Provider, Allowed),
    (CreatePatient, BillingManager, Forbidden),
    (CreatePatient, FrontDesk, Allowed),
    (CreatePatientWithContact, SystemAdmin, Forbidden),
    (CreatePatientWithContact, ClinicAdmin, Allowed),
    (CreatePatientWithContact, Provider, Allowed),
    (CreatePatientWithContact, BillingManager, Forbidden),
    (CreatePatientWithContact, FrontDesk, Allowed),
    (CreatePatientWithMedical, SystemAdmin, Forbidden),
    (CreatePatientWithMedical, ClinicAdmin, Allowed),
    (CreatePatientWithMedical, Provider, Allowed),
    (CreatePatientWithMedical, BillingManager, Forbidden),
    (CreatePatientWithMedical, FrontDesk, Forbidden),
    (UpdatePatientDemographics, SystemAdmin, Forbidden),
    (UpdatePatientDemographics, ClinicAdmin, Allowed),
    (UpdatePatientDemographics, Provider, Allowed),
    (UpdatePatientDemographics, BillingManager, Forbidden),
    (UpdatePatientDemographics, FrontDesk, Allowed),
    (UpdatePatientContact, SystemAdmin, Forbidden),
    (UpdatePatientContact, ClinicAdmin, Allowed),
    (UpdatePatientContact, Provider, Allowed),
    (UpdatePatientContact, BillingManager, Forbidden),
    (UpdatePatientContact, FrontDesk, Allowed),
    (UpdatePatientMedical, SystemAdmin, Forbidden),
    (UpdatePatientMedical, ClinicAdmin, Allowed),
    (UpdatePatientMedical, Provider, Allowed),
    (UpdatePatientMedical, BillingManager, Forbidden),
    (UpdatePatientMedical, FrontDesk, Forbidden),
    (DeletePatient, SystemAdmin, Forbidden),
    (DeletePatient, ClinicAdmin, Allowed),
    (DeletePatient, Provider, Forbidden),
    (DeletePatient, BillingManager, Forbidden),
    (DeletePatient, FrontDesk, Forbidden),
    (ReadContact, SystemAdmin, Forbidden),
    (ReadContact, ClinicAdmin, Allowed),
    (ReadContact, Provider, Allowed),
    (ReadContact, BillingManager, Forbidden),
    (ReadContact, FrontDesk, Allowed),
    (ReadMedical, SystemAdmin, Forbidden),
    (ReadMedical, ClinicAdmin, Allowed),
    (ReadMedical, Provider, Allowed),
    (ReadMedical, BillingManager, Forbidden),
    (ReadMedical, FrontDesk, Forbidden),
    (AppointmentTypes, SystemAdmin, Forbidden),
    (AppointmentTypes, ClinicAdmin, Allowed),
    (AppointmentTypes, Provider, Allowed),
    (AppointmentTypes, BillingManager, Allowed),
    (AppointmentTypes, FrontDesk, Allowed),
    (Providers, SystemAdmin, Forbidden),
    (Providers, ClinicAdmin, Allowed),
    (Providers, Provider, Allowed),
    (Providers, BillingManager, Allowed),
    (Providers, FrontDesk, Allowed),
    (CreateAppointmentType, SystemAdmin, Forbidden),
    (CreateAppointmentType, ClinicAdmin, Allowed),
    (CreateAppointmentType, Provider, Forbidden),
    (CreateAppointmentType, BillingManager, Forbidden),
    (CreateAppointmentType, FrontDesk, Forbidden),
    (UpdateAppointmentType, SystemAdmin, Forbidden),
    (UpdateAppointmentType, ClinicAdmin, Allowed),
    (UpdateAppointmentType, Provider, Forbidden),
    (UpdateAppointmentType, BillingManager, Forbidden),
    (UpdateAppointmentType, FrontDesk, Forbidden),
    (DeleteAppointmentType, SystemAdmin, Forbidden),
    (DeleteAppointmentType, ClinicAdmin, Allowed),
    (DeleteAppointmentType, Provider, Forbidden),
    (DeleteAppointmentType, BillingManager, Forbidden),
    (DeleteAppointmentType, FrontDesk, Forbidden),
    (SetWorkingHours, SystemAdmin, Forbidden),
    (SetWorkingHours, ClinicAdmin, Allowed),
    (SetWorkingHours, Provider, Forbidden),
    (SetWorkingHours, BillingManager, Forbidden),
    (SetWorkingHours, FrontDesk, Forbidden),
    (Appointment, SystemAdmin, Forbidden),
    (Appointment, ClinicAdmin, Allowed),
    (Appointment, Provider, Allowed),
    (Appointment, BillingManager, Allowed),
    (Appointment, FrontDesk, Allowed),
    (Appointments, SystemAdmin, Forbidden),
    (Appointments, ClinicAdmin, Allowed),
    (Appointments, Provider, Allowed),
    (Appointments, BillingManager, Allowed),
    (Appointments, FrontDesk, Allowed),
    (AvailableSlots, SystemAdmin, Forbidden),
    (AvailableSlots, ClinicAdmin, Allowed),
    (AvailableSlots, Provider, Allowed),
    (AvailableSlots, BillingManager, Allowed),
    (AvailableSlots, FrontDesk, Allowed),
    (BookAppointment, SystemAdmin, Forbidden),
    (BookAppointment, ClinicAdmin, Allowed),
    (BookAppointment, Provider, Allowed),
    (BookAppointment, BillingManager, Forbidden),
    (BookAppointment, FrontDesk, Allowed),
    (BookOutsideHours, SystemAdmin, Forbidden),
    (BookOutsideHours, ClinicAdmin, Allowed),
    (BookOutsideHours, Provider, Forbidden),
    (BookOutsideHours, BillingManager, Forbidden),
    (BookOutsideHours, FrontDesk, Forbidden),
    (Reschedule, SystemAdmin, Forbidden),
    (Reschedule, ClinicAdmin, Allowed),
    (Reschedule, Provider, Allowed),
    (Reschedule, BillingManager, Forbidden),
    (Reschedule, FrontDesk, Allowed),
    (Cancel, SystemAdmin, Forbidden),
    (Cancel, ClinicAdmin, Allowed),
    (Cancel, Provider, Allowed),
    (Cancel, BillingManager, Forbidden),
    (Cancel, FrontDesk, Allowed),
    (MarkArrived, SystemAdmin, Forbidden),
    (MarkArrived, ClinicAdmin, Allowed),
    (MarkArrived, Provider, Allowed),
    (MarkArrived, BillingManager, Forbidden),
    (MarkArrived, FrontDesk, Allowed),
    (StartVisit, SystemAdmin, Forbidden),
    (StartVisit, ClinicAdmin, Allowed),
    (StartVisit, Provider, Allowed),
    (StartVisit, BillingManager, Forbidden),
    (StartVisit, FrontDesk, Forbidden),
    (Invoice, SystemAdmin, Forbidden),
    (Invoice, ClinicAdmin, Allowed),
    (Invoice, Provider, Forbidden),
    (Invoice, BillingManager, Allowed),
    (Invoice, FrontDesk, Allowed),
    (Invoices, SystemAdmin, Forbidden),
    (Invoices, ClinicAdmin, Allowed),
    (Invoices, Provider, Forbidden),
    (Invoices, BillingManager, Allowed),
    (Invoices, FrontDesk, Allowed),
    (ReceivablesAging, SystemAdmin, Forbidden),
    (ReceivablesAging, ClinicAdmin, Allowed),
    (ReceivablesAging, Provider, Forbidden),
    (ReceivablesAging, BillingManager, Allowed),
    (ReceivablesAging, FrontDesk, Allowed),
    (RecordPayment, SystemAdmin, Forbidden),
    (RecordPayment, ClinicAdmin, Allowed),
    (RecordPayment, Provider, Forbidden),
    (RecordPayment, BillingManager, Allowed),
    (RecordPayment, FrontDesk, Forbidden),
    (RefundPayment, SystemAdmin, Forbidden),
    (RefundPayment, ClinicAdmin, Allowed),
    (RefundPayment, Provider, Forbidden),
    (RefundPayment, BillingManager, Allowed),
    (RefundPayment, FrontDesk, Forbidden),
    (WriteOffInvoice, SystemAdmin, Forbidden),
    (WriteOffInvoice, ClinicAdmin, Allowed),
    (WriteOffInvoice, Provider, Forbidden),
    (WriteOffInvoice, BillingManager, Allowed),
    (WriteOffInvoice, FrontDesk, Forbidden),
    (VoidInvoice, SystemAdmin, Forbidden),
    (VoidInvoice, ClinicAdmin, Allowed),
    (VoidInvoice, Provider, Forbidden),
    (VoidInvoice, BillingManager, Allowed),
    (VoidInvoice, FrontDesk, Forbidden),
    (ApiKeys, SystemAdmin, Forbidden),
    (ApiKeys, ClinicAdmin, Allowed),
    (ApiKeys, Provider, Forbidden),
    (ApiKeys, BillingManager, Forbidden),
    (ApiKeys, FrontDesk, Forbidden),
    (IssueApiKey, SystemAdmin, Forbidden),
    (IssueApiKey, ClinicAdmin, Allowed),
    (IssueApiKey, Provider, Forbidden),
    (IssueApiKey, BillingManager, Forbidden),
    (IssueApiKey, FrontDesk, Forbidden),
    (RevokeApiKey, SystemAdmin, Forbidden),
    (RevokeApiKey, ClinicAdmin, Allowed),
    (RevokeApiKey, Provider, Forbidden),
    (RevokeApiKey, BillingManager, Forbidden),
    (RevokeApiKey, FrontDesk, Forbidden),
    (AppointmentEvents, SystemAdmin, Forbidden),
    (AppointmentEvents, ClinicAdmin, Allowed),
    (AppointmentEvents, Provider, Allowed),
    (AppointmentEvents, BillingManager, Allowed),
    (AppointmentEvents, FrontDesk, Allowed),
    (AppointmentPatient, SystemAdmin, Forbidden),
    (AppointmentPatient, ClinicAdmin, Allowed),
    (AppointmentPatient, Provider, Allowed),
    (AppointmentPatient, BillingManager, Allowed),
    (AppointmentPatient, FrontDesk, Allowed),
    (AppointmentPatientContact, SystemAdmin, Forbidden),
    (AppointmentPatientContact, ClinicAdmin, Allowed),
    (AppointmentPatientContact, Provider, Allowed),
    (AppointmentPatientContact, BillingManager, Forbidden),
    (AppointmentPatientContact, FrontDesk, Allowed),
    (AppointmentPatientMedical, SystemAdmin, Forbidden),
    (AppointmentPatientMedical, ClinicAdmin, Allowed),
    (AppointmentPatientMedical, Provider, Allowed),
    (AppointmentPatientMedical, BillingManager, Forbidden),
    (AppointmentPatientMedical, FrontDesk, Forbidden),
    (PatientDateOfBirth, SystemAdmin, Forbidden),
    (PatientDateOfBirth, ClinicAdmin, Allowed),
    (PatientDateOfBirth, Provider, Allowed),
    (PatientDateOfBirth, BillingManager, Allowed),
    (PatientDateOfBirth, FrontDesk, Allowed),
    (IssueApiKeyWithReadScopes, SystemAdmin, Forbidden),
    (IssueApiKeyWithReadScopes, ClinicAdmin, Allowed),
    (IssueApiKeyWithReadScopes, Provider, Forbidden),
    (IssueApiKeyWithReadScopes, BillingManager, Forbidden),
    (IssueApiKeyWithReadScopes, FrontDesk, Forbidden),
    (AuditLogsOfAKey, SystemAdmin, Forbidden),
    (AuditLogsOfAKey, ClinicAdmin, Allowed),
    (AuditLogsOfAKey, Provider, Forbidden),
    (AuditLogsOfAKey, BillingManager, Forbidden),
    (AuditLogsOfAKey, FrontDesk, Forbidden),
    // Issue 17: the clinic's week.
    (TimeOffList, SystemAdmin, Forbidden),
    (TimeOffList, ClinicAdmin, Allowed),
    (TimeOffList, Provider, Allowed),
    (TimeOffList, BillingManager, Allowed),
    (TimeOffList, FrontDesk, Allowed),
    (AddTimeOff, SystemAdmin, Forbidden),
    (AddTimeOff, ClinicAdmin, Allowed),
    (AddTimeOff, Provider, Allowed),
    (AddTimeOff, BillingManager, Forbidden),
    (AddTimeOff, FrontDesk, Allowed),
    (AddClinicClosure, SystemAdmin, Forbidden),
    (AddClinicClosure, ClinicAdmin, Allowed),
    (AddClinicClosure, Provider, Forbidden),
    (AddClinicClosure, BillingManager, Forbidden),
    (AddClinicClosure, FrontDesk, Forbidden),
    (RemoveTimeOff, SystemAdmin, Forbidden),
    (RemoveTimeOff, ClinicAdmin, Allowed),
    (RemoveTimeOff, Provider, Allowed),
    (RemoveTimeOff, BillingManager, Forbidden),
    (RemoveTimeOff, FrontDesk, Allowed),
    (RemoveClinicClosure, SystemAdmin, Forbidden),
    (RemoveClinicClosure, ClinicAdmin, Allowed),
    (RemoveClinicClosure, Provider, Forbidden),
    (RemoveClinicClosure, BillingManager, Forbidden),
    (RemoveClinicClosure, FrontDesk, Forbidden),
    (SetProviderDayHours, SystemAdmin, Forbidden),
    (SetProviderDayHours, ClinicAdmin, Allowed),
    (SetProviderDayHours, Provider, Forbidden),
    (SetProviderDayHours, BillingManager, Forbidden),
    (SetProviderDayHours, FrontDesk, Forbidden),
    (CancelAppointments, SystemAdmin, Forbidden),
    (CancelAppointments, ClinicAdmin, Allowed),
    (CancelAppointments, Provider, Allowed),
    (CancelAppointments, BillingManager, Forbidden),
    (CancelAppointments, FrontDesk, Allowed),
    (BookSeries, SystemAdmin, Forbidden),
    (BookSeries, ClinicAdmin, Allowed),
    (BookSeries, Provider, Allowed),
    (BookSeries, BillingManager, Forbidden),
    (BookSeries, FrontDesk, Allowed),
    (BookOverTimeOff, SystemAdmin, Forbidden),
    (BookOverTimeOff, ClinicAdmin, Allowed),
    (BookOverTimeOff, Provider, Forbidden),
    (BookOverTimeOff, BillingManager, Forbidden),
    (BookOverTimeOff, FrontDesk, Forbidden),
    (BookBackdated, SystemAdmin, Forbidden),
    (BookBackdated, ClinicAdmin, Allowed),
    (BookBackdated, Provider, Forbidden),
    (BookBackdated, BillingManager, Forbidden),
    (BookBackdated, FrontDesk, Forbidden),
    (CancelSeriesFrom, SystemAdmin, Forbidden),
    (CancelSeriesFrom, ClinicAdmin, Allowed),
    (CancelSeriesFrom, Provider, Allowed),
    (CancelSeriesFrom, BillingManager, Forbidden),
    (CancelSeriesFrom, FrontDesk, Allowed),
    (RescheduleSeriesFrom, SystemAdmin, Forbidden),
    (RescheduleSeriesFrom, ClinicAdmin, Allowed),
    (RescheduleSeriesFrom, Provider, Allowed),
    (RescheduleSeriesFrom, BillingManager, Forbidden),
    (RescheduleSeriesFrom, FrontDesk, Allowed),
    (ResetClinicAdmin, SystemAdmin, Allowed),
    (ResetClinicAdmin, ClinicAdmin, Forbidden),
    (ResetClinicAdmin, Provider, Forbidden),
    (ResetClinicAdmin, BillingManager, Forbidden),
    (ResetClinicAdmin, FrontDesk, Forbidden),
    (ReadMedicalOutsideCare, SystemAdmin, Forbidden),
    (ReadMedicalOutsideCare, ClinicAdmin, Allowed),
    (ReadMedicalOutsideCare, Provider, Forbidden),
    (ReadMedicalOutsideCare, BillingManager, Forbidden),
    (ReadMedicalOutsideCare, FrontDesk, Forbidden),
    (PatientHistory, SystemAdmin, Forbidden),
    (PatientHistory, ClinicAdmin, Allowed),
    (PatientHistory, Provider, Allowed),
    (PatientHistory, BillingManager, Forbidden),
    (PatientHistory, FrontDesk, Forbidden),
    (BreakGlass, SystemAdmin, Forbidden),
    (BreakGlass, ClinicAdmin, Forbidden),
    (BreakGlass, Provider, Allowed),
    (BreakGlass, BillingManager, Forbidden),
    (BreakGlass, FrontDesk, Forbidden),
    (BreakGlassEvents, SystemAdmin, Forbidden),
    (BreakGlassEvents, ClinicAdmin, Allowed),
    (BreakGlassEvents, Provider, Forbidden),
    (BreakGlassEvents, BillingManager, Forbidden),
    (BreakGlassEvents, FrontDesk, Forbidden),
    (AssignCareProvider, SystemAdmin, Forbidden),
    (AssignCareProvider, ClinicAdmin, Allowed),
    (AssignCareProvider, Provider, Forbidden),
    (AssignCareProvider, BillingManager, Forbidden),
    (AssignCareProvider, FrontDesk, Forbidden),
    (UnassignCareProvider, SystemAdmin, Forbidden),
    (UnassignCareProvider, ClinicAdmin, Allowed),
    (UnassignCareProvider, Provider, Forbidden),
    (UnassignCareProvider, BillingManager, Forbidden),
    (UnassignCareProvider, FrontDesk, Forbidden),
    (PatientAccessReport, SystemAdmin, Forbidden),
    (PatientAccessReport, ClinicAdmin, Allowed),
    (PatientAccessReport, Provider, Forbidden),
    (PatientAccessReport, BillingManager, Forbidden),
    (PatientAccessReport, FrontDesk, Forbidden),
    (MfaStatus, SystemAdmin, Allowed),
    (MfaStatus, ClinicAdmin, Allowed),
    (MfaStatus, Provider, Allowed),
    (MfaStatus, BillingManager, Allowed),
    (MfaStatus, FrontDesk, Allowed),
    (BeginMfaEnrollment, SystemAdmin, Allowed),
    (BeginMfaEnrollment, ClinicAdmin, Allowed),
    (BeginMfaEnrollment, Provider, Allowed),
    (BeginMfaEnrollment, BillingManager, Allowed),
    (BeginMfaEnrollment, FrontDesk, Allowed),
    (SetMfaPolicy, SystemAdmin, Forbidden),
    (SetMfaPolicy, ClinicAdmin, Allowed),
    (SetMfaPolicy, Provider, Forbidden),
    (SetMfaPolicy, BillingManager, Forbidden),
    (SetMfaPolicy, FrontDesk, Forbidden),
    (ResetUserMfa, SystemAdmin, Forbidden),
    (ResetUserMfa, ClinicAdmin, Allowed),
    (ResetUserMfa, Provider, Forbidden),
    (ResetUserMfa, BillingManager, Forbidden),
    (ResetUserMfa, FrontDesk, Forbidden),
    (CancellationReasons, SystemAdmin, Forbidden),
    (CancellationReasons, ClinicAdmin, Allowed),
    (CancellationReasons, Provider, Allowed),
    (CancellationReasons, BillingManager, Allowed),
    (CancellationReasons, FrontDesk, Allowed),
    (AddCancellationReason, SystemAdmin, Forbidden),
    (AddCancellationReason, ClinicAdmin, Allowed),
    (AddCancellationReason, Provider, Forbidden),
    (AddCancellationReason, BillingManager, Forbidden),
    (AddCancellationReason, FrontDesk, Forbidden),
    (RetireCancellationReason, SystemAdmin, Forbidden),
    (RetireCancellationReason, ClinicAdmin, Allowed),
    (RetireCancellationReason, Provider, Forbidden),
    (RetireCancellationReason, BillingManager, Forbidden),
    (RetireCancellationReason, FrontDesk, Forbidden),
    (CancellationPolicies, SystemAdmin, Forbidden),
    (CancellationPolicies, ClinicAdmin, Allowed),
    (CancellationPolicies, Provider, Allowed),
    (CancellationPolicies, BillingManager, Allowed),
    (CancellationPolicies, FrontDesk, Allowed),
    (SetCancellationPolicy, SystemAdmin, Forbidden),
    (SetCancellationPolicy, ClinicAdmin, Allowed),
    (SetCancellationPolicy, Provider, Forbidden),
    (SetCancellationPolicy, BillingManager, Forbidden),
    (SetCancellationPolicy, FrontDesk, Forbidden),
    (CancellationReport, SystemAdmin, Forbidden),
    (CancellationReport, ClinicAdmin, Allowed),
    (CancellationReport, Provider, Forbidden),
    (CancellationReport, BillingManager, Allowed),
    (CancellationReport, FrontDesk, Forbidden),
    (CancelWithReason, SystemAdmin, Forbidden),
    (CancelWithReason, ClinicAdmin, Allowed),
    (CancelWithReason, Provider, Allowed),
    (CancelWithReason, BillingManager, Forbidden),
    (CancelWithReason, FrontDesk, Allowed),
    (Waitlist, SystemAdmin, Forbidden),
    (Waitlist, ClinicAdmin, Allowed),
    (Waitlist, Provider, Allowed),
    (Waitlist, BillingManager, Forbidden),
    (Waitlist, FrontDesk, Allowed),
    (AddToWaitlist, SystemAdmin, Forbidden),
    (AddToWaitlist, ClinicAdmin, Allowed),
    (AddToWaitlist, Provider, Allowed),
    (AddToWaitlist, BillingManager, Forbidden),
    (AddToWaitlist, FrontDesk, Allowed),
    (RemoveFromWaitlist, SystemAdmin, Forbidden),
    (RemoveFromWaitlist, ClinicAdmin, Allowed),
    (RemoveFromWaitlist, Provider, Allowed),
    (RemoveFromWaitlist, BillingManager, Forbidden),
    (RemoveFromWaitlist, FrontDesk, Allowed),
    (WaitlistMatches, SystemAdmin, Forbidden),
    (WaitlistMatches, ClinicAdmin, Allowed),
    (WaitlistMatches, Provider, Allowed),
    (WaitlistMatches, BillingManager, Forbidden),
    (WaitlistMatches, FrontDesk, Allowed),
    (BookFromWaitlist, SystemAdmin, Forbidden),
    (BookFromWaitlist, ClinicAdmin, Allowed),
    (BookFromWaitlist, Provider, Allowed),
    (BookFromWaitlist, BillingManager, Forbidden),
    (BookFromWaitlist, FrontDesk, Allowed),
    (Rooms, SystemAdmin, Forbidden),
    (Rooms, ClinicAdmin, Allowed),
    (Rooms, Provider, Allowed),
    (Rooms, BillingManager, Allowed),
    (Rooms, FrontDesk, Allowed),
    (CreateRoom, SystemAdmin, Forbidden),
    (CreateRoom, ClinicAdmin, Allowed),
    (CreateRoom, Provider, Forbidden),
    (CreateRoom, BillingManager, Forbidden),
    (CreateRoom, FrontDesk, Forbidden),
    (UpdateRoom, SystemAdmin, Forbidden),
    (UpdateRoom, ClinicAdmin, Allowed),
    (UpdateRoom, Provider, Forbidden),
    (UpdateRoom, BillingManager, Forbidden),
    (UpdateRoom, FrontDesk, Forbidden),
    (RemoveRoom, SystemAdmin, Forbidden),
    (RemoveRoom, ClinicAdmin, Allowed),
    (RemoveRoom, Provider, Forbidden),
    (RemoveRoom, BillingManager, Forbidden),
    (RemoveRoom, FrontDesk, Forbidden),
];

/// What each set of API-key scopes may do: an operation not listed for a set is FORBIDDEN to it.
/// Every scope reads, none writes, and none reads medical data or a date of birth.
const KEY_GRANTS: &[(&str, &[Op])] = &[
    ("[APPOINTMENT_EVENTS]", &[AppointmentEvents]),
    ("[APPOINTMENTS]", &[Appointment, Appointments]),
    // Patients are reached through appointments only: without APPOINTMENTS, nothing.
    ("[PATIENT_CONTACT]", &[]),
    (
        "[APPOINTMENTS, PATIENT_CONTACT]",
        &[
            Appointment,
            Appointments,
            AppointmentPatient,
            AppointmentPatientContact,
        ],
    ),
];

/// Every operation of the matrix, once.
fn every_operation() -> Vec<Op> {
    let mut operations: Vec<Op> = Vec::new();
    for (op, _, _) in MATRIX {
        if !operations.contains(op) {
            operations.push(*op);
        }
    }
    operations
}

#[tokio::test]
async fn every_api_key_scope_may_do_exactly_what_its_row_of_the_matrix_says() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let sysadmin = app.system_admin().await;
    app.set_working_hours(
        &clinic,
        clinic.user(Provider),
        json!([{"day": "MONDAY", "start": "00:00:00", "end": "00:00:00"}]),
    )
    .await;

    let mut failures = Vec::new();
    for (scopes, granted) in KEY_GRANTS {
        let (key, _) = app
            .issue_api_key_with(&clinic, &format!("Partner {scopes}"), scopes)
            .await;
        for op in every_operation() {
            let expected = if granted.contains(&op) {
                Allowed
            } else {
                Forbidden
            };
            let (query, variables) = request(&app, &clinic, &sysadmin, op).await;
            let response = app.graphql_with_api_key(&key, query, variables).await;
            let outcome = match response.codes().as_slice() {
                [] => Allowed,
                [code] if code == "FORBIDDEN" => Forbidden,
                other => {
                    failures.push(format!(
                        "{op:?} with {scopes}: unexpected errors {other:?}: {response:?}"
                    ));
                    continue;
                }
            };
            if outcome != expected {
                failures.push(format!(
                    "{op:?} with {scopes}: expected {expected:?}, got {outcome:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn every_role_may_do_exactly_what_its_row_of_the_matrix_says() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let sysadmin = app.system_admin().await;
    app.set_working_hours(
        &clinic,
        clinic.user(Provider),
        json!([{"day": "MONDAY", "start": "00:00:00", "end": "00:00:00"}]),
    )
    .await;

    let operations = 92;
    assert_eq!(
        MATRIX.len(),
        operations * Role::ALL.len(),
        "one row per cell"
    );

    let mut failures = Vec::new();
    let mut cells = 0;
    for &(op, role, expected) in MATRIX {
        let token = match role {
            SystemAdmin => sysadmin.clone(),
            _ => clinic.token(role).to_owned(),
        };
        let first = request(&app, &clinic, &sysadmin, op).await;
        let transports = Transport::for_operation(first.0);
        let mut prepared = Some(first);
        for &transport in transports {
            // Made afresh for each transport: a mutation uses up what it acts on.
            let (query, variables) = match prepared.take() {
                Some(request) => request,
                None => request(&app, &clinic, &sysadmin, op).await,
            };
            let before = app.footprint(&clinic).await;
            let response = app
                .graphql_over(transport, Some(&token), query, variables)
                .await;
            let after = app.footprint(&clinic).await;
            cells += 1;
            let cell = format!("{op:?} as {role:?} over {transport:?}");
            let outcome = match response.codes().as_slice() {
                [] => Allowed,
                [code] if code == "FORBIDDEN" => Forbidden,
                other => {
                    failures.push(format!("{cell}: unexpected errors {other:?}: {response:?}"));
                    continue;
                }
            };
            if outcome != expected {
                failures.push(format!("{cell}: expected {expected:?}, got {outcome:?}"));
            }
            if outcome == Forbidden && before != after {
                failures.push(format!(
                    "{cell} was refused but wrote: {before:?} -> {after:?}"
                ));
            }
        }
    }
    println!("RBAC matrix: {cells} cells over the transports");
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What the matrix says of `op` for `role`.
fn expected(op: Op, role: Role) -> Expect {
    MATRIX
        .iter()
        .find(|(cell_op, cell_role, _)| *cell_op == op && *cell_role == role)
        .map(|(_, _, expect)| *expect)
        .expect("the matrix has every cell")
}

/// A global id opens nothing more than the type's own field: every role reading a patient, an
/// appointment and an invoice through `node` and `nodes` gets what the matrix says of
/// `patient(id:)`, `appointment(id:)` and `invoice(id:)`, and a refused read is null.
#[tokio::test]
async fn node_answers_every_role_as_the_types_own_field_does() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    let sysadmin = app.system_admin().await;
    let admin = clinic.token(ClinicAdmin);
    let (appointment, invoice) = app.completed_visit(&clinic, "2031-02-03T09:00:00Z").await;
    let reads = [
        (Patient, "patient", clinic.patient_id.to_string()),
        (Appointment, "appointment", appointment),
        (Invoice, "invoice", invoice),
    ];
    let mut failures = Vec::new();
    for (op, field, id) in reads {
        let own = app
            .graphql(
                Some(admin),
                &format!("{{ {field}(id: \"{id}\") {{ nodeId }} }}"),
                json!({}),
            )
            .await;
        let node_id = own.ok()[field]["nodeId"].clone();
        for role in Role::ALL {
            let token = match role {
                SystemAdmin => sysadmin.clone(),
                _ => clinic.token(role).to_owned(),
            };
            for (query, variables) in [
                (
                    "query($id: ID!) { node(id: $id) { nodeId } }",
                    json!({ "id": node_id }),
                ),
                (
                    "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }",
                    json!({ "ids": [node_id] }),
                ),
            ] {
                let response = app.graphql(Some(&token), query, variables).await;
                let outcome = match response.codes().as_slice() {
                    [] if response.0.to_string().contains(node_id.as_str().unwrap()) => Allowed,
                    [code] if code == "FORBIDDEN" => Forbidden,
                    _ => {
                        failures.push(format!("{op:?} as {role:?}: {response:?}"));
                        continue;
                    }
                };
                if outcome != expected(op, role) {
                    failures.push(format!(
                        "{op:?} through {query} as {role:?}: expected {:?}, got {outcome:?}",
                        expected(op, role)
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The request for `op`, after creating whatever it acts on (a user to update, a patient to
/// delete, a clinic to deactivate) so that every cell starts from the same state.
async fn request(
    app: &TestApp,
    clinic: &ApiClinic,
    sysadmin: &str,
    op: Op,
) -> (&'static str, Value) {
    let admin = clinic.token(ClinicAdmin);
    let patient = clinic.patient_id;
    // A name (it must contain a letter), unique per call.
    let unique = format!("Test{}", &Uuid::new_v4().simple().to_string()[..12]);
    match op {
        Me => ("{ me { id } }", json!({})),
        Users => ("{ users { edges { node { id } } } }", json!({})),
        CreateUser => (
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"username": format!("u{unique}"), "password": "a long enough password", "role": "FRONT_DESK"}}),
        ),
        UpdateUser => (
            "mutation($i: UpdateUserInput!) { updateUser(input: $i) { id } }",
            json!({"i": {"id": throwaway_user(app, admin, &unique).await, "role": "PROVIDER"}}),
        ),
        DeactivateUser => (
            "mutation($id: UUID!) { deactivateUser(id: $id) { id } }",
            json!({"id": throwaway_user(app, admin, &unique).await}),
        ),
        AuditLogs => (
            "{ auditLogs(first: 5) { edges { node { id } } } }",
            json!({}),
        ),
        Tenants => ("{ tenants { edges { node { id } } } }", json!({})),
        CreateTenant => (
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { tenant { id } } }",
            json!({"i": {"name": "New clinic", "slug": format!("c{unique}"),
                         "adminUsername": "admin", "adminPassword": "a long enough password"}}),
        ),
        SetTenantActive => (
            "mutation($id: UUID!) { setTenantActive(id: $id, active: false) { id } }",
            json!({"id": throwaway_clinic(app, sysadmin, &unique).await}),
        ),
        Patient => (
            "query($id: UUID!) { patient(id: $id) { id firstName } }",
            json!({"id": patient}),
        ),
        Patients => ("{ patients { edges { node { id lastName } } } }", json!({})),
        CreatePatient => (CREATE_PATIENT, json!({"i": new_patient(json!({}))})),
        CreatePatientWithContact => (
            CREATE_PATIENT,
            json!({"i": new_patient(json!({"contact": {"phone": "555 0100"}}))}),
        ),
        CreatePatientWithMedical => (
            CREATE_PATIENT,
            json!({"i": new_patient(json!({"medical": {"allergies": "none"}}))}),
        ),
        UpdatePatientDemographics => (
            UPDATE_PATIENT,
            json!({"i": {"id": patient, "lastName": "Byron"}}),
        ),
        UpdatePatientContact => (
            UPDATE_PATIENT,
            json!({"i": {"id": patient, "contact": {"email": "ada@example.com"}}}),
        ),
        UpdatePatientMedical => (
            UPDATE_PATIENT,
            json!({"i": {"id": patient, "medical": {"notes": "Seen today."}}}),
        ),
        DeletePatient => (
            "mutation($id: UUID!) { deletePatient(id: $id) }",
            json!({"id": app.create_patient(clinic, "Temp", &unique).await}),
        ),
        ReadContact => (
            "query($id: UUID!) { patient(id: $id) { contact { phone } } }",
            json!({"id": patient}),
        ),
        ReadMedical => (
            "query($id: UUID!) { patient(id: $id) { medical { allergies } } }",
            json!({"id": patient}),
        ),
        ReadMedicalOutsideCare => (
            "query($id: UUID!) { patient(id: $id) { medical { allergies } } }",
            json!({"id": app.create_patient(clinic, "Outside", &unique).await}),
        ),
        PatientHistory => (
            "query($id: UUID!) { patient(id: $id) { history { version } } }",
            json!({"id": patient}),
        ),
        BreakGlass => (
            "mutation($p: UUID!) { breakGlass(patientId: $p, reason: \"Covering an emergency\") { id } }",
            json!({"p": app.create_patient(clinic, "Outside", &unique).await}),
        ),
        BreakGlassEvents => (
            "{ breakGlassEvents { edges { node { id reason } } } }",
            json!({}),
        ),
        AssignCareProvider => (
            "mutation($p: UUID!, $v: UUID!) { assignCareProvider(patientId: $p, providerId: $v) { id } }",
            json!({"p": app.create_patient(clinic, "Assigned", &unique).await, "v": clinic.user(Provider)}),
        ),
        UnassignCareProvider => {
            let assigned = app.create_patient(clinic, "Assigned", &unique).await;
            app.assign_care_provider(clinic, assigned, clinic.user(Provider))
                .await;
            (
                "mutation($p: UUID!, $v: UUID!) { unassignCareProvider(patientId: $p, providerId: $v) }",
                json!({"p": assigned, "v": clinic.user(Provider)}),
            )
        }
        PatientAccessReport => (
            "query($id: UUID!) { patientAccessReport(patientId: $id) { edges { node { userId shown } } } }",
            json!({"id": patient}),
        ),
        MfaStatus => ("{ mfaStatus { enabled required } }", json!({})),
        // The test password, so every role gets as far as a new (pending) secret.
        BeginMfaEnrollment => (
            "mutation($p: String!) { beginMfaEnrollment(currentPassword: $p) { secret } }",
            json!({"p": crate::helpers::TEST_PASSWORD}),
        ),
        // The default policy, so the cell changes no later sign-in.
        SetMfaPolicy => ("mutation { setMfaPolicy(requiredFor: NOBODY) }", json!({})),
        // A user of its own: the others' cells of BeginMfaEnrollment leave them pending
        // factors, whose reset would end the sessions the matrix signs in with.
        ResetUserMfa => (
            "mutation($u: UUID!) { resetUserMfa(userId: $u) }",
            json!({"u": throwaway_user(app, admin, &unique).await}),
        ),
        AppointmentTypes => ("{ appointmentTypes { id } }", json!({})),
        Providers => ("{ providers { edges { node { id } } } }", json!({})),
        CreateAppointmentType => (
            "mutation($n: String!) { createAppointmentType(input: {name: $n, durationMinutes: 20, price: \"10\"}) { id } }",
            json!({"n": format!("Type {unique}")}),
        ),
        UpdateAppointmentType => (
            "mutation($id: UUID!) { updateAppointmentType(input: {id: $id, price: \"12.50\"}) { id } }",
            json!({"id": throwaway_type(app, admin, &unique).await}),
        ),
        DeleteAppointmentType => (
            "mutation($id: UUID!) { deleteAppointmentType(id: $id) }",
            json!({"id": throwaway_type(app, admin, &unique).await}),
        ),
        SetWorkingHours => (
            "mutation($p: UUID!) { setProviderWorkingHours(providerId: $p, hours: [{day: MONDAY, start: \"00:00:00\", end: \"00:00:00\"}]) { id } }",
            json!({"p": clinic.user(Provider)}),
        ),
        Appointment => (
            "query($id: UUID!) { appointment(id: $id) { id } }",
            json!({"id": throwaway_appointment(app, clinic).await.0}),
        ),
        Appointments => ("{ appointments { edges { node { id } } } }", json!({})),
        AvailableSlots => (
            "query($p: UUID!, $t: UUID!) { availableSlots(providerId: $p, date: \"2031-01-06\", typeId: $t) }",
            json!({"p": clinic.user(Provider), "t": clinic.type_id}),
        ),
        BookAppointment => book(clinic, next_monday_slot(), false),
        // A Tuesday, when the provider works Mondays only.
        BookOutsideHours => {
            let monday: chrono::DateTime<chrono::Utc> = next_monday_slot().parse().unwrap();
            let tuesday = monday + chrono::Duration::days(1);
            book(clinic, tuesday.to_rfc3339(), true)
        }
        Reschedule => {
            let (id, _) = throwaway_appointment(app, clinic).await;
            (
                "mutation($id: UUID!, $s: DateTime!) { rescheduleAppointment(input: {id: $id, expectedVersion: 1, start: $s}) { id } }",
                json!({"id": id, "s": next_monday_slot()}),
            )
        }
        Cancel => (
            "mutation($id: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Called in\") { id } }",
            json!({"id": throwaway_appointment(app, clinic).await.0}),
        ),
        MarkArrived => (
            "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 1, status: ARRIVED) { id } }",
            json!({"id": throwaway_appointment(app, clinic).await.0}),
        ),
        Invoice => (
            "query($id: UUID!) { invoice(id: $id) { id balance } }",
            json!({"id": paid_invoice(app, clinic, &unique).await}),
        ),
        Invoices => ("{ invoices { edges { node { id } } } }", json!({})),
        ReceivablesAging => ("{ receivablesAging { total } }", json!({})),
        RecordPayment => (
            "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { entry { id } } }",
            json!({"i": {"invoiceId": paid_invoice(app, clinic, &unique).await, "amount": "1.00", "method": "CARD", "idempotencyKey": unique}}),
        ),
        RefundPayment => (
            "mutation($i: RefundPaymentInput!) { refundPayment(input: $i) { entry { id } } }",
            json!({"i": {"invoiceId": paid_invoice(app, clinic, &unique).await, "amount": "1.00", "reason": "Goodwill", "idempotencyKey": unique}}),
        ),
        WriteOffInvoice => (
            "mutation($i: WriteOffInvoiceInput!) { writeOffInvoice(input: $i) { entry { id } } }",
            json!({"i": {"invoiceId": paid_invoice(app, clinic, &unique).await, "amount": "1.00", "reason": "Hardship", "idempotencyKey": unique}}),
        ),
        VoidInvoice => {
            let (_, invoice) = app.completed_visit(clinic, &next_monday_slot()).await;
            (
                "mutation($id: UUID!) { voidInvoice(invoiceId: $id, reason: \"Billed in error\") { entry { id } } }",
                json!({"id": invoice}),
            )
        }
        ApiKeys => ("{ apiKeys { id prefix } }", json!({})),
        IssueApiKey => (
            "mutation($n: String!) { issueApiKey(name: $n, scopes: [APPOINTMENT_EVENTS]) { apiKey { id } } }",
            json!({"n": format!("Partner {unique}")}),
        ),
        RevokeApiKey => (
            "mutation($id: UUID!) { revokeApiKey(id: $id) { revokedAt } }",
            json!({"id": app.issue_api_key(clinic, &format!("Partner {unique}")).await.1}),
        ),
        AppointmentEvents => (
            "{ appointmentEvents(first: 5) { id newStatus } }",
            json!({}),
        ),
        AppointmentPatient => (
            "query($id: UUID!) { appointment(id: $id) { patient { firstName lastName } } }",
            json!({"id": throwaway_appointment(app, clinic).await.0}),
        ),
        AppointmentPatientContact => (
            "query($id: UUID!) { appointment(id: $id) { patient { firstName contact { phone } } } }",
            json!({"id": throwaway_appointment(app, clinic).await.0}),
        ),
        AppointmentPatientMedical => (
            "query($id: UUID!) { appointment(id: $id) { patient { medical { allergies } } } }",
            json!({"id": throwaway_appointment(app, clinic).await.0}),
        ),
        PatientDateOfBirth => (
            "query($id: UUID!) { patient(id: $id) { dateOfBirth } }",
            json!({"id": patient}),
        ),
        IssueApiKeyWithReadScopes => (
            "mutation($n: String!) { issueApiKey(name: $n, scopes: [APPOINTMENTS, PATIENT_CONTACT]) { apiKey { id scopes } } }",
            json!({"n": format!("Reminders {unique}")}),
        ),
        ResetClinicAdmin => (
            "mutation($t: UUID!, $u: String!, $p: String!) {
               resetClinicAdmin(tenantId: $t, username: $u, password: $p) { userId } }",
            json!({"t": throwaway_clinic(app, sysadmin, &unique).await, "u": "admin",
                   "p": "temporary harbour key 42"}),
        ),
        AuditLogsOfAKey => (
            "query($k: UUID!) { auditLogs(apiKeyId: $k, first: 5) { edges { node { id apiKeyId } } } }",
            json!({"k": app.issue_api_key(clinic, &format!("Audited {unique}")).await.1}),
        ),
        TimeOffList => (
            "{ timeOff(from: \"2031-01-01T00:00:00Z\", to: \"2031-02-01T00:00:00Z\") { id reason } }",
            json!({}),
        ),
        AddTimeOff => (
            "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
            json!({"i": {"providerId": clinic.user(Provider), "firstDay": "2032-02-02", "reason": "Training"}}),
        ),
        AddClinicClosure => (
            "mutation { addClinicClosure(input: {firstDay: \"2032-12-25\", reason: \"Christmas\"}) { timeOff { id } } }",
            json!({}),
        ),
        RemoveTimeOff => (
            REMOVE_TIME_OFF,
            json!({"id": throwaway_time_off(app, clinic, Some(clinic.user(Provider))).await}),
        ),
        RemoveClinicClosure => (
            REMOVE_TIME_OFF,
            json!({"id": throwaway_time_off(app, clinic, None).await}),
        ),
        SetProviderDayHours => (
            "mutation($p: UUID!) { setProviderDayHours(providerId: $p, date: \"2032-03-02\", hours: []) { start } }",
            json!({"p": clinic.user(Provider)}),
        ),
        CancelAppointments => (
            "mutation($ids: [UUID!]!) { cancelAppointments(ids: $ids, reason: \"Closed\") { id } }",
            json!({"ids": [throwaway_appointment(app, clinic).await.0]}),
        ),
        BookSeries => (
            "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { seriesId } }",
            json!({"i": {"patientId": patient, "providerId": clinic.user(Provider), "typeId": clinic.type_id,
                         "firstStart": next_monday_slot(), "rule": {"days": ["MONDAY"], "count": 1}}}),
        ),
        RescheduleSeriesFrom => {
            let id = throwaway_series_occurrence(app, clinic).await;
            (
                "mutation($i: RescheduleSeriesFromInput!) { rescheduleSeriesFrom(input: $i) { id } }",
                json!({"i": {"id": id, "expectedVersion": 1, "start": next_monday_slot()}}),
            )
        }
        CancelSeriesFrom => {
            let booked = app
                .graphql(
                    Some(admin),
                    "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { appointments { id } } }",
                    json!({"i": {"patientId": patient, "providerId": clinic.user(Provider), "typeId": clinic.type_id,
                                 "firstStart": next_monday_slot(), "rule": {"days": ["MONDAY"], "count": 1}}}),
                )
                .await;
            (
                "mutation($id: UUID!) { cancelSeriesFrom(id: $id, expectedVersion: 1, reason: \"Moved away\") { id } }",
                json!({"id": booked.ok()["bookSeries"]["appointments"][0]["id"]}),
            )
        }
        BookOverTimeOff => {
            let start = next_monday_slot();
            let away: chrono::DateTime<chrono::Utc> = start.parse().unwrap();
            app.graphql(
                Some(admin),
                "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
                json!({"i": {"providerId": clinic.user(Provider), "start": start,
                             "end": (away + chrono::Duration::hours(1)).to_rfc3339(), "reason": "Errand"}}),
            )
            .await
            .ok();
            overriding(clinic, start, json!({"overrideTimeOff": true}))
        }
        BookBackdated => {
            let monday: chrono::DateTime<chrono::Utc> = next_monday_slot().parse().unwrap();
            let years_ago = monday - chrono::Duration::weeks(52 * 6);
            overriding(clinic, years_ago.to_rfc3339(), json!({"backdate": true}))
        }
        CancellationReasons => (
            "{ cancellationReasons(includeRetired: true) { id label } }",
            json!({}),
        ),
        AddCancellationReason => (
            "mutation($l: String!) { addCancellationReason(category: PATIENT_REQUEST, label: $l) { id } }",
            json!({"l": format!("Reason {unique}")}),
        ),
        RetireCancellationReason => (
            "mutation($id: UUID!) { retireCancellationReason(id: $id) { id } }",
            json!({"id": throwaway_reason(app, clinic, &unique).await}),
        ),
        CancellationPolicies => (
            "{ cancellationPolicies { appointmentTypeId windowHours } }",
            json!({}),
        ),
        SetCancellationPolicy => (
            "mutation($t: UUID!) { setCancellationPolicy(appointmentTypeId: $t, windowHours: 24, lateCancellationFee: \"0.00\", noShowFee: \"0.00\") { windowHours } }",
            json!({"t": throwaway_type(app, admin, &unique).await}),
        ),
        CancellationReport => (
            "{ cancellationReport(from: \"2031-01-01T00:00:00Z\", to: \"2031-12-31T00:00:00Z\") { category count } }",
            json!({}),
        ),
        CancelWithReason => (
            "mutation($id: UUID!, $r: UUID!) { cancelAppointment(id: $id, expectedVersion: 1, reason: \"Called in\", reasonId: $r) { id } }",
            json!({"id": throwaway_appointment(app, clinic).await.0,
                   "r": throwaway_reason(app, clinic, &unique).await}),
        ),
        Waitlist => (
            "{ waitlist(first: 5) { edges { node { id patientId } } } }",
            json!({}),
        ),
        AddToWaitlist => (
            "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }",
            json!({"i": {"patientId": patient, "typeId": clinic.type_id,
                         "firstDay": "2032-06-01", "lastDay": "2032-06-05", "notes": "Mornings"}}),
        ),
        RemoveFromWaitlist => (
            "mutation($id: UUID!) { removeFromWaitlist(id: $id) }",
            json!({"id": throwaway_waitlist_entry(app, clinic).await}),
        ),
        WaitlistMatches => (
            "query($p: UUID!) { waitlistMatches(providerId: $p, start: \"2032-06-02T09:00:00Z\",
                                                end: \"2032-06-02T10:00:00Z\") { id } }",
            json!({"p": clinic.user(Provider)}),
        ),
        BookFromWaitlist => {
            let entry = throwaway_waitlist_entry(app, clinic).await;
            (
                "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
                json!({"i": {"patientId": patient, "providerId": clinic.user(Provider),
                             "typeId": clinic.type_id, "start": next_monday_slot(),
                             "waitlistEntryId": entry}}),
            )
        }
        Rooms => ("{ rooms { id name kind } }", json!({})),
        CreateRoom => (
            "mutation($n: String!) { createRoom(input: {name: $n, kind: \"Exam\"}) { id } }",
            json!({"n": format!("Room {unique}")}),
        ),
        UpdateRoom => (
            "mutation($id: UUID!) { updateRoom(input: {id: $id, kind: null}) { id } }",
            json!({"id": throwaway_room(app, clinic, &unique).await}),
        ),
        RemoveRoom => (
            "mutation($id: UUID!) { removeRoom(id: $id) }",
            json!({"id": throwaway_room(app, clinic, &unique).await}),
        ),
        StartVisit => {
            let (id, _) = throwaway_appointment(app, clinic).await;
            app.graphql(
                Some(admin),
                "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 1, status: ARRIVED) { id } }",
                json!({"id": id}),
            )
            .await
            .ok();
            (
                "mutation($id: UUID!) { setAppointmentStatus(id: $id, expectedVersion: 2, status: IN_SESSION) { id } }",
                json!({"id": id}),
            )
        }
    }
}

/// A live cancellation reason of the clinic, added by its ClinicAdmin; its id.
async fn throwaway_reason(app: &TestApp, clinic: &ApiClinic, unique: &str) -> String {
    let response = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($l: String!) { addCancellationReason(category: PATIENT_REQUEST, label: $l) { id } }",
            json!({"l": format!("Throwaway {unique}")}),
        )
        .await;
    response.ok()["addCancellationReason"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A room of the clinic's, made for one cell.
async fn throwaway_room(app: &TestApp, clinic: &ApiClinic, unique: &str) -> String {
    let name = format!("Throwaway room {unique} {}", Uuid::new_v4());
    app.create_room(clinic, &name, Some("Exam")).await
}

/// A completed visit's invoice with 10.00 paid on it, so that every posting has room to act.
async fn paid_invoice(app: &TestApp, clinic: &ApiClinic, unique: &str) -> String {
    let (_, invoice) = app.completed_visit(clinic, &next_monday_slot()).await;
    app.graphql(
        Some(clinic.token(ClinicAdmin)),
        "mutation($i: RecordPaymentInput!) { recordPayment(input: $i) { entry { id } } }",
        json!({"i": {"invoiceId": invoice, "amount": "10.00", "method": "CASH", "idempotencyKey": format!("seed-{unique}")}}),
    )
    .await
    .ok();
    invoice
}

/// Hour-long steps through Mondays of 2031, so no two bookings of the matrix clash.
fn next_monday_slot() -> String {
    static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let monday: chrono::DateTime<chrono::Utc> = "2031-01-06T00:00:00Z".parse().unwrap();
    (monday + chrono::Duration::weeks(n / 24) + chrono::Duration::hours(n % 24)).to_rfc3339()
}

/// A Scheduled appointment (version 1) booked by the ClinicAdmin; (id, start).
async fn throwaway_appointment(app: &TestApp, clinic: &ApiClinic) -> (String, String) {
    let start = next_monday_slot();
    let response = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
            json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Provider), "typeId": clinic.type_id, "start": start}}),
        )
        .await;
    (
        response.ok()["bookAppointment"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        start,
    )
}

async fn throwaway_type(app: &TestApp, admin: &str, unique: &str) -> String {
    let response = app
        .graphql(
            Some(admin),
            "mutation($n: String!) { createAppointmentType(input: {name: $n, durationMinutes: 15, price: \"5\"}) { id } }",
            json!({"n": format!("Throwaway {unique}")}),
        )
        .await;
    response.ok()["createAppointmentType"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn book(clinic: &ApiClinic, start: String, override_hours: bool) -> (&'static str, Value) {
    (
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
        json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Provider),
                     "typeId": clinic.type_id, "start": start, "overrideWorkingHours": override_hours}}),
    )
}

/// The one occurrence of a series booked by the ClinicAdmin; its id.
async fn throwaway_series_occurrence(app: &TestApp, clinic: &ApiClinic) -> Value {
    let booked = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($i: BookSeriesInput!) { bookSeries(input: $i) { appointments { id } } }",
            json!({"i": {"patientId": clinic.patient_id, "providerId": clinic.user(Provider),
                         "typeId": clinic.type_id, "firstStart": next_monday_slot(),
                         "rule": {"days": ["MONDAY"], "count": 1}}}),
        )
        .await;
    booked.ok()["bookSeries"]["appointments"][0]["id"].clone()
}

/// The clinic's patient waiting for any provider in June 2032, added by the ClinicAdmin; its id.
async fn throwaway_waitlist_entry(app: &TestApp, clinic: &ApiClinic) -> String {
    let response = app
        .graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($i: AddToWaitlistInput!) { addToWaitlist(input: $i) { id } }",
            json!({"i": {"patientId": clinic.patient_id, "typeId": clinic.type_id,
                         "firstDay": "2032-06-01", "lastDay": "2032-06-05"}}),
        )
        .await;
    response.ok()["addToWaitlist"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const REMOVE_TIME_OFF: &str = "mutation($id: UUID!) { removeTimeOff(id: $id) }";

/// A booking by the matrix's ClinicAdmin-only overrides, with their reason.
fn overriding(clinic: &ApiClinic, start: String, overrides: Value) -> (&'static str, Value) {
    let mut input = json!({"patientId": clinic.patient_id, "providerId": clinic.user(Provider),
                           "typeId": clinic.type_id, "start": start, "overrideReason": "Urgent"});
    input
        .as_object_mut()
        .unwrap()
        .extend(overrides.as_object().unwrap().clone());
    (
        "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) { id } }",
        json!({ "i": input }),
    )
}

/// Time off of `provider` (a clinic closure with `None`) entered by the ClinicAdmin; its id.
async fn throwaway_time_off(app: &TestApp, clinic: &ApiClinic, provider: Option<Uuid>) -> String {
    let response = match provider {
        Some(provider) => app.graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($i: AddTimeOffInput!) { addTimeOff(input: $i) { timeOff { id } } }",
            json!({"i": {"providerId": provider, "firstDay": "2032-04-05", "reason": "Training"}}),
        ),
        None => app.graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation { addTimeOff: addClinicClosure(input: {firstDay: \"2032-04-06\", reason: \"Holiday\"}) { timeOff { id } } }",
            json!({}),
        ),
    }
    .await;
    response.ok()["addTimeOff"]["timeOff"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

const CREATE_PATIENT: &str =
    "mutation($i: CreatePatientInput!) { createPatient(input: $i) { id } }";
const UPDATE_PATIENT: &str =
    "mutation($i: UpdatePatientInput!) { updatePatient(input: $i) { id } }";

fn new_patient(sections: Value) -> Value {
    let mut input =
        json!({"firstName": "Grace", "lastName": "Hopper", "dateOfBirth": "1990-12-09"});
    input
        .as_object_mut()
        .unwrap()
        .extend(sections.as_object().unwrap().clone());
    input
}

async fn throwaway_user(app: &TestApp, admin: &str, unique: &str) -> String {
    let response = app
        .graphql(
            Some(admin),
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"username": format!("t{unique}"), "password": "a long enough password", "role": "FRONT_DESK"}}),
        )
        .await;
    response.ok()["createUser"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn throwaway_clinic(app: &TestApp, sysadmin: &str, unique: &str) -> String {
    let response = app
        .graphql(
            Some(sysadmin),
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { tenant { id } } }",
            json!({"i": {"name": "Throwaway", "slug": format!("t{unique}"),
                         "adminUsername": "admin", "adminPassword": "a long enough password"}}),
        )
        .await;
    response.ok()["createTenant"]["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Signing out and changing one's password act on the caller's own sessions, so they are no
/// cells of the matrix (they would end the tokens the matrix signs in with): every signed-in
/// user may, each with a session of their own here, and no API key may (it has no session).
#[tokio::test]
async fn every_signed_in_user_may_end_their_own_sessions_and_change_their_password() {
    let app = TestApp::spawn().await;
    let clinic = app.clinic("north").await;
    // A SystemAdmin of the test's own: changing the password of the one every test signs in as
    // would sign them all out on a shared database.
    let sysadmin = format!("own.sysadmin.{}", clinic.slug);
    bootstrap::create_system_admin(&app.db.app, &sysadmin, crate::helpers::TEST_PASSWORD)
        .await
        .unwrap();
    let mut accounts = vec![(bootstrap::PLATFORM_SLUG.to_owned(), sysadmin, SystemAdmin)];
    for role in [ClinicAdmin, Provider, BillingManager, FrontDesk] {
        let username = format!("own.{}", role.name().to_lowercase());
        app.graphql(
            Some(clinic.token(ClinicAdmin)),
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({"i": {"username": username, "password": crate::helpers::TEST_PASSWORD,
                         "role": role_enum(role)}}),
        )
        .await
        .ok();
        accounts.push((clinic.slug.clone(), username, role));
    }
    let mut failures = Vec::new();
    for (tenant, username, role) in &accounts {
        let changed = app
            .graphql(
                Some(&app.login(tenant, username).await),
                "mutation($c: String!, $n: String!) {
                   changePassword(currentPassword: $c, newPassword: $n) { token } }",
                json!({"c": crate::helpers::TEST_PASSWORD, "n": "violet harbour lantern 7"}),
            )
            .await;
        if !changed.data()["changePassword"]["token"].is_string() {
            failures.push(format!("changePassword as {role:?}: {changed:?}"));
            continue;
        }
        for operation in ["mutation { signOutEverywhere }", "mutation { logout }"] {
            let fresh = app
                .login_with(tenant, username, "violet harbour lantern 7")
                .await;
            let response = app.graphql(Some(&fresh), operation, json!({})).await;
            if !response.errors().is_empty() {
                failures.push(format!("{operation} as {role:?}: {response:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    let (key, _) = app.issue_api_key(&clinic, "No sessions").await;
    for operation in [
        "mutation { logout }",
        "mutation { signOutEverywhere }",
        "mutation { changePassword(currentPassword: \"x\", newPassword: \"violet harbour lantern 7\") { token } }",
    ] {
        let response = app.graphql_with_api_key(&key, operation, json!({})).await;
        assert_eq!(response.code(), "FORBIDDEN", "{operation} with an API key");
    }
}

fn role_enum(role: Role) -> &'static str {
    match role {
        SystemAdmin => "SYSTEM_ADMIN",
        ClinicAdmin => "CLINIC_ADMIN",
        Provider => "PROVIDER",
        BillingManager => "BILLING_MANAGER",
        FrontDesk => "FRONT_DESK",
    }
}
