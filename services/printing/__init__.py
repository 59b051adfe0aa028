"""The print spooler's domain logic (seed 001 ``/spl``): hubs, printers, the job queue,
pack stations and the ZPL parcel label; each testable without HTTP."""
