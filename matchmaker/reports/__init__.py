"""The non-attributable report for partners and the public: aggregates that name no member, with CSV exports."""
