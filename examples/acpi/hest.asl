/*
 * HEST of the bundled 4-CPU board (ACPI 6.5 18.3.2): two firmware-first error sources
 * whose notification is an SDEI event (Hardware Error Notification type 0x0B, event
 * number in "Vector", ACPI 6.5 18.3.2.9). Linux GHES registers those events with
 * sdei_register_ghes(). Platform events live in the vendor range 0x4000_0000-0x40FF_FFFF
 * (DEN0054 4.4 reserves the standard range 0x1-0xFF_FFFF for future use).
 *   source 0: GHES   (type 9,  64 bytes) -> SDEI event 0x40000010
 *   source 1: GHESv2 (type 10, 92 bytes) -> SDEI event 0x40000011
 * Build: iasl hest.asl   (iasl fills in Table Length, Checksum and the compiler fields)
 */
[0004]                          Signature : "HEST"    [Hardware Error Source Table]
[0004]                       Table Length : 00000000
[0001]                           Revision : 01
[0001]                           Checksum : 00
[0006]                             Oem ID : "SDEIMD"
[0008]                       Oem Table ID : "SDEI4CPU"
[0004]                       Oem Revision : 00000001
[0004]                    Asl Compiler ID : "INTL"
[0004]              Asl Compiler Revision : 00000000

[0004]                 Error Source Count : 00000002

[0002]                      Subtable Type : 0009 [Generic Hardware Error Source]
[0002]                          Source Id : 0000
[0002]                  Related Source Id : FFFF
[0001]                           Reserved : 00
[0001]                            Enabled : 01
[0004]             Records To Preallocate : 00000001
[0004]            Max Sections Per Record : 00000001
[0004]                Max Raw Data Length : 00001000
[0012]               Error Status Address : [Generic Address Structure]
[0001]                           Space ID : 00 [SystemMemory]
[0001]                          Bit Width : 40
[0001]                         Bit Offset : 00
[0001]               Encoded Access Width : 04 [QWord Access:64]
[0008]                            Address : 00000000FFFF0000
[0028]                             Notify : [Hardware Error Notification Structure]
[0001]                        Notify Type : 0B [Software Delegated Exception]
[0001]                      Notify Length : 1C
[0002]         Configuration Write Enable : 0000
[0004]                       PollInterval : 00000000
[0004]                             Vector : 40000010
[0004]            Polling Threshold Value : 00000000
[0004]           Polling Threshold Window : 00000000
[0004]              Error Threshold Value : 00000000
[0004]             Error Threshold Window : 00000000
[0004]          Error Status Block Length : 00001000

[0002]                      Subtable Type : 000A [Generic Hardware Error Source V2]
[0002]                          Source Id : 0001
[0002]                  Related Source Id : FFFF
[0001]                           Reserved : 00
[0001]                            Enabled : 01
[0004]             Records To Preallocate : 00000001
[0004]            Max Sections Per Record : 00000001
[0004]                Max Raw Data Length : 00001000
[0012]               Error Status Address : [Generic Address Structure]
[0001]                           Space ID : 00 [SystemMemory]
[0001]                          Bit Width : 40
[0001]                         Bit Offset : 00
[0001]               Encoded Access Width : 04 [QWord Access:64]
[0008]                            Address : 00000000FFFF0008
[0028]                             Notify : [Hardware Error Notification Structure]
[0001]                        Notify Type : 0B [Software Delegated Exception]
[0001]                      Notify Length : 1C
[0002]         Configuration Write Enable : 0000
[0004]                       PollInterval : 00000000
[0004]                             Vector : 40000011
[0004]            Polling Threshold Value : 00000000
[0004]           Polling Threshold Window : 00000000
[0004]              Error Threshold Value : 00000000
[0004]             Error Threshold Window : 00000000
[0004]          Error Status Block Length : 00001000
[0012]                  Read Ack Register : [Generic Address Structure]
[0001]                           Space ID : 00 [SystemMemory]
[0001]                          Bit Width : 40
[0001]                         Bit Offset : 00
[0001]               Encoded Access Width : 04 [QWord Access:64]
[0008]                            Address : 00000000FFFF0010
[0008]                  Read Ack Preserve : FFFFFFFFFFFFFFFE
[0008]                     Read Ack Write : 0000000000000001
