import type { Metadata, Viewport } from "next";
import type { ReactNode } from "react";
import "@fontsource/noto-color-emoji";
import "@fontsource/noto-sans-symbols-2";
import { Providers } from "./_components/providers";
import { THEME_SCRIPT } from "./_lib/theme";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Atelier", template: "%s · Atelier" },
  description: "Craft your own domain assistant around your own model.",
  icons: { icon: "/icon.svg" },
};

export const viewport: Viewport = {
  themeColor: [
    { media: "(prefers-color-scheme: light)", color: "#ffffff" },
    { media: "(prefers-color-scheme: dark)", color: "#09090b" },
  ],
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    // The theme script sets the "dark" class before hydration; React must not warn about it.
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
