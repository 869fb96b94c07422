//! Small integer codes for the closed vocabularies of the synthetic data (media, direction,
//! purpose, segment type, disconnect type, metric), with their wire spellings.

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($variant),+ }

        #[allow(dead_code)]
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            pub fn parse(wire: &str) -> Option<$name> {
                match wire { $($wire => Some($name::$variant),)+ _ => None }
            }

            #[inline]
            pub fn from_index(i: u64) -> $name {
                Self::ALL[i as usize]
            }
        }
    };
}

code_enum!(
    /// Media types the synthetic centre handles.
    Media {
        Voice => "voice",
        Callback => "callback",
        Chat => "chat",
        Email => "email",
        Message => "message",
    }
);

code_enum!(Direction { Inbound => "inbound", Outbound => "outbound" });

code_enum!(
    Purpose {
        Customer => "customer",
        External => "external",
        Ivr => "ivr",
        Acd => "acd",
        Agent => "agent",
    }
);

code_enum!(
    SegmentType {
        Interact => "interact",
        Ivr => "ivr",
        Alert => "alert",
        Hold => "hold",
        Wrapup => "wrapup",
        Dialing => "dialing",
        Contacting => "contacting",
    }
);

code_enum!(
    Disconnect {
        Client => "client",
        Endpoint => "endpoint",
        Peer => "peer",
        Transfer => "transfer",
        ConsultTransfer => "consultTransfer",
        NoAnswerTransfer => "noAnswerTransfer",
        System => "system",
    }
);

code_enum!(
    /// Every metric the synthetic data emits; all others are never emitted (sparse output).
    Metric {
        NConversations => "nConversations",
        NOffered => "nOffered",
        TAcd => "tAcd",
        TWait => "tWait",
        TAbandon => "tAbandon",
        TShortAbandon => "tShortAbandon",
        OServiceLevel => "oServiceLevel",
        NOverSla => "nOverSla",
        TAnswered => "tAnswered",
        TAlert => "tAlert",
        TNotResponding => "tNotResponding",
        NAlertExpired => "nAlertExpired",
        NAgentDeclined => "nAgentDeclined",
        NConnected => "nConnected",
        TConnected => "tConnected",
        TTalk => "tTalk",
        TTalkComplete => "tTalkComplete",
        THeld => "tHeld",
        THeldComplete => "tHeldComplete",
        TAcw => "tAcw",
        THandle => "tHandle",
        NTransferred => "nTransferred",
        NBlindTransferred => "nBlindTransferred",
        NConsult => "nConsult",
        NConsultTransferred => "nConsultTransferred",
        TIvr => "tIvr",
        NOutbound => "nOutbound",
        NOutboundAttempted => "nOutboundAttempted",
        NOutboundConnected => "nOutboundConnected",
        TDialing => "tDialing",
        TContacting => "tContacting",
        // Never an emission (details have no such metric): each offer feeds its bucket's
        // observation of the queue's target; see `aggregate::Accumulator::add_slot`.
        OServiceTarget => "oServiceTarget",
    }
);

impl Media {
    /// Whether a customer reaches this media through an IVR first.
    pub fn has_ivr(self) -> bool {
        matches!(self, Media::Voice)
    }

    /// Whether an agent can put this media on hold.
    pub fn can_hold(self) -> bool {
        matches!(self, Media::Voice | Media::Callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_emitted_metric_is_in_the_catalog() {
        for m in Metric::ALL {
            assert!(genesys::catalog::is_metric(m.as_str()), "{}", m.as_str());
            assert_eq!(Metric::parse(m.as_str()), Some(*m));
        }
        assert!(Metric::ALL.len() < 64, "metric sets are u64 bit masks");
    }
}
