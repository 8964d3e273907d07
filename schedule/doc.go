// Package schedule publishes announcements later: once at a set time
// (publish_at) or at every time of a cron spec until an end date, such as
// "IT-Ausfall: Stand {{date}}" every weekday at 08:00.
//
// Specs are read by github.com/robfig/cron/v3 in the standard five-field
// form or as descriptors (@daily, @every 2h), with the time zone spelled out
// as CRON_TZ=Europe/Berlin; a spec without one is stored with
// crier.DefaultScheduleZone, so that the host's local time never matters.
//
// # Firing exactly once
//
// Schedules and their runs live in the database. The Scheduler keeps no
// state of its own: each Tick reads the active schedules and handles every
// run that is due, in order. For one run it
//
//  1. claims the run's row, unique per schedule and time, with a lease;
//  2. publishes the run's announcement with a deterministic id (the
//     schedule's id for a one-off, ID-YYYYMMDDhhmm in UTC for a recurring
//     schedule) and idempotency key ("schedule:ID:UNIX");
//  3. records the outcome and moves the schedule to its next run in one
//     transaction.
//
// A crash between 1 and 2 leaves a claim without an announcement; once its
// lease has passed, the next scheduler publishes the run (within the grace
// window). A crash between 2 and 3 leaves an announcement without an
// outcome; publishing again with the same key returns the announcement
// committed before, and the scheduler also looks the id up, so a run never
// publishes twice. Several schedulers may share one database: the claim
// keeps them from working on the same run, and the moves are conditional
// on the schedule still being where the scheduler read it.
//
// # Missed runs and clock changes
//
// A run that was due while crier was not running fires when crier is back
// within the grace window after its time (DefaultGrace, 15 minutes); older
// ones are skipped, logged and recorded as skipped.
//
// On the day clocks go forward, a time in the skipped hour (02:00–02:59 in
// Europe/Berlin) does not exist and robfig/cron fires nothing for it that
// day. On the day clocks go back, robfig/cron would fire a time in the
// repeated hour twice; a schedule whose hour field names hours (such as
// "30 2 * * *") fires once, at the first of the two, while one whose hour
// field is * or */n fires by the passing hours and so in both.
//
// # Templates
//
// {{date}}, {{time}} and {{weekday}} in an announcement's title and body are
// replaced by the run's time in the schedule's zone, in German
// ("26.11.2026", "08:00", "Donnerstag"), before the body is rendered as a
// template for each town.
package schedule
